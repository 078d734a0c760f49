namespace OtpVerification.Senders;

/// <summary>
/// The WebOTP / SMS Retriever line that ends an SMS, <c>@host #code</c>: browsers (WebOTP) and
/// Android apps (SMS Retriever, with the app's hash) offer the code to that host only.
/// </summary>
public static class OtpWebOtp
{
    /// <summary>Whether <paramref name="host"/> can be named in the line: a DNS host name (or <c>localhost</c>), without scheme, port, path or spaces.</summary>
    /// <param name="host">The host.</param>
    /// <returns><see langword="true"/> when it is a host name.</returns>
    public static bool IsValidHost(string? host)
        => !string.IsNullOrEmpty(host)
            && host.Length <= 253
            && Uri.CheckHostName(host) == UriHostNameType.Dns
            && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');

    /// <summary>The line <c>@host #code</c>, or <see langword="null"/> when <paramref name="host"/> is not a host name.</summary>
    /// <param name="host">The host (lower-cased in the line).</param>
    /// <param name="code">The code.</param>
    /// <returns>The line, without a line break.</returns>
    public static string? Line(string? host, string code)
        => IsValidHost(host) ? string.Concat("@", host!.ToLowerInvariant(), " #", code) : null;
}
