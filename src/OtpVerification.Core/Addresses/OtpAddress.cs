using System.Diagnostics.CodeAnalysis;
using System.Net.Mail;

namespace OtpVerification;

/// <summary>
/// Normalises and validates the addresses codes are sent to: emails are trimmed and lower-cased;
/// phone numbers are reduced to E.164 (<c>+</c>, country code, subscriber number; 8 to 15 digits).
/// </summary>
public static class OtpAddress
{
    /// <summary>The longest email address accepted (RFC 5321's path limit).</summary>
    public const int MaxEmailLength = 254;

    /// <summary>
    /// Normalises an email address: trimmed and lower-cased (invariant culture).
    /// </summary>
    /// <param name="email">The address as the user typed it.</param>
    /// <param name="normalized">The normalised address when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when the input is a plausible single mailbox address.</returns>
    public static bool TryNormalizeEmail(string? email, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (string.IsNullOrWhiteSpace(email))
        {
            return false;
        }

        var trimmed = email.Trim();
        if (trimmed.Length > MaxEmailLength)
        {
            return false;
        }

        foreach (var c in trimmed)
        {
            // Control characters, spaces, and anything outside printable ASCII in the local part
            // are refused: look-alike Unicode addresses are a phishing and takeover vector.
            if (c <= ' ' || c == '\u007f' || c > '\u007e' || c is '<' or '>' or '(' or ')' or ',' or ';' or ':' or '\\' or '"' or '[' or ']')
            {
                return false;
            }
        }

        var at = trimmed.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != trimmed.LastIndexOf('@') || at == trimmed.Length - 1)
        {
            return false;
        }

        var domain = trimmed.AsSpan(at + 1);
        if (domain.IndexOf('.') <= 0 || domain[^1] == '.' || domain.Contains("..", StringComparison.Ordinal) || trimmed.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        if (!MailAddress.TryCreate(trimmed, out var parsed) || !string.Equals(parsed.Address, trimmed, StringComparison.Ordinal))
        {
            return false;
        }

        normalized = trimmed.ToLowerInvariant();
        return true;
    }

    /// <summary>
    /// Normalises a phone number to E.164. Spaces, dots, hyphens and parentheses are removed; the
    /// number must start with <c>+</c> (or <c>00</c>) and hold 8 to 15 digits, the first not zero.
    /// </summary>
    /// <param name="phone">The number as the user typed it.</param>
    /// <param name="normalized">The E.164 number when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when the input is a valid international number.</returns>
    public static bool TryNormalizePhone(string? phone, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (string.IsNullOrWhiteSpace(phone) || phone.Length > 32)
        {
            return false;
        }

        Span<char> digits = stackalloc char[32];
        var count = 0;
        var s = phone.AsSpan().Trim();
        if (s.StartsWith("00", StringComparison.Ordinal))
        {
            s = s[2..];
        }
        else if (s.Length > 0 && s[0] == '+')
        {
            s = s[1..];
        }
        else
        {
            return false;
        }

        foreach (var c in s)
        {
            if (c is >= '0' and <= '9')
            {
                digits[count++] = c;
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
            {
                return false;
            }
        }

        if (count is < 8 or > 15 || digits[0] == '0')
        {
            return false;
        }

        normalized = string.Concat("+", new string(digits[..count]));
        return true;
    }

    /// <summary>
    /// The mailbox a normalised email delivers to, for send limits: the sub-address tag after
    /// <c>+</c> is dropped (<c>ana+1@example.com</c> is <c>ana@example.com</c>), and for Gmail the
    /// dots of the local part too (<c>a.n.a@gmail.com</c> is <c>ana@gmail.com</c>, and
    /// <c>googlemail.com</c> is <c>gmail.com</c>). Aliases of one mailbox share its limits, so they
    /// cannot multiply the codes it receives. The address itself is kept as typed everywhere else.
    /// </summary>
    /// <param name="email">A normalised (lower-case) email address.</param>
    /// <returns>The canonical mailbox.</returns>
    public static string CanonicalMailbox(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        var at = email.LastIndexOf('@');
        if (at <= 0)
        {
            return email;
        }

        var local = email.AsSpan(0, at);
        var domain = email.AsSpan(at + 1);
        var plus = local.IndexOf('+');
        if (plus > 0)
        {
            local = local[..plus];
        }

        var gmail = domain.SequenceEqual("gmail.com") || domain.SequenceEqual("googlemail.com");
        if (!gmail)
        {
            return plus > 0 ? string.Concat(local, "@", domain) : email;
        }

        Span<char> buffer = stackalloc char[local.Length];
        var n = 0;
        foreach (var c in local)
        {
            if (c != '.')
            {
                buffer[n++] = c;
            }
        }

        return string.Concat(buffer[..n], "@gmail.com");
    }

    /// <summary>
    /// Masks an address for logs: <c>a***@example.com</c>, <c>+1415***23</c>. Never returns the
    /// whole local part or subscriber number.
    /// </summary>
    /// <param name="address">A normalised address.</param>
    /// <returns>The masked form.</returns>
    public static string Mask(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return "(none)";
        }

        var at = address.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            return string.Concat(address.AsSpan(0, 1), "***", address.AsSpan(at));
        }

        return address.Length <= 6
            ? "***"
            : string.Concat(address.AsSpan(0, Math.Min(5, address.Length - 4)), "***", address.AsSpan(address.Length - 2));
    }
}
