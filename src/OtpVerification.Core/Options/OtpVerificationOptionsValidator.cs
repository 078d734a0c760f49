using System.Globalization;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Cross-field rules for <see cref="OtpVerificationOptions"/> that DataAnnotations cannot express.
/// Each failure names the configuration key and the bad value.
/// </summary>
internal sealed class OtpVerificationOptionsValidator(IServiceProvider services) : IValidateOptions<OtpVerificationOptions>
{
    public ValidateOptionsResult Validate(string? name, OtpVerificationOptions options)
    {
        var failures = new List<string>();
        var code = options.Code;
        var resend = options.Resend;

        if (code is not null)
        {
            if (code.Lifetime <= TimeSpan.Zero || code.Lifetime > TimeSpan.FromDays(1))
            {
                failures.Add(FormattableString.Invariant($"OtpSignup:Code:Lifetime must be positive and at most 1 day (was '{code.Lifetime}')."));
            }

            ValidateKeys(code, failures);
        }

        if (resend is not null && (resend.Cooldown < TimeSpan.Zero || resend.Cooldown > TimeSpan.FromHours(1)))
        {
            failures.Add(FormattableString.Invariant($"OtpSignup:Resend:Cooldown must be between 0 and 1 hour (was '{resend.Cooldown}')."));
        }

        if (options.PendingLifetime <= TimeSpan.Zero || options.PendingLifetime > TimeSpan.FromDays(7))
        {
            failures.Add(FormattableString.Invariant($"OtpSignup:PendingLifetime must be positive and at most 7 days (was '{options.PendingLifetime}')."));
        }
        else if (code is not null && code.Lifetime > options.PendingLifetime)
        {
            failures.Add(FormattableString.Invariant($"OtpSignup:Code:Lifetime ('{code.Lifetime}') must not exceed OtpSignup:PendingLifetime ('{options.PendingLifetime}')."));
        }

        if (code is not null && resend is not null && code.Lifetime > TimeSpan.Zero && resend.Cooldown >= code.Lifetime)
        {
            failures.Add(FormattableString.Invariant($"OtpSignup:Resend:Cooldown ('{resend.Cooldown}') must be shorter than OtpSignup:Code:Lifetime ('{code.Lifetime}')."));
        }

        if (options.MaxLimitRecords is { } records && records < options.MaxPendingEntries)
        {
            failures.Add(FormattableString.Invariant($"OtpSignup:MaxLimitRecords ('{options.MaxLimitRecords}') must be at least OtpSignup:MaxPendingEntries ('{options.MaxPendingEntries}'): every pending registration lives in its address's limit record."));
        }

        if (options.Messages?.Culture is { } culture && !OtpCultures.InvariantMode)
        {
            try
            {
                // predefinedOnly: with ICU, any well-formed name (even "xx-NOT-A-CULTURE") is otherwise accepted.
                _ = CultureInfo.GetCultureInfo(culture, predefinedOnly: true);
            }
            catch (CultureNotFoundException)
            {
                failures.Add($"OtpSignup:Messages:Culture '{culture}' is not a known culture.");
            }
        }

        if (options.Messages is { } messages)
        {
            foreach (var supported in messages.SupportedCultures ?? [])
            {
                if (string.IsNullOrWhiteSpace(supported) || (!OtpCultures.InvariantMode && !OtpCultures.IsKnown(supported)))
                {
                    failures.Add($"OtpSignup:Messages:SupportedCultures holds '{supported}', which is not a known culture (e.g. 'en', 'es-MX').");
                }
            }

            if (messages.SupportedCultures is { Length: 0 })
            {
                failures.Add("OtpSignup:Messages:SupportedCultures must list at least one culture (leave it unset for the built-in en, es).");
            }

            if (messages.WebOtpHost is { } host && !Senders.OtpWebOtp.IsValidHost(host))
            {
                failures.Add($"OtpSignup:Messages:WebOtpHost '{host}' is not a host name: give the domain only, e.g. 'app.example.com' (no scheme, port or path).");
            }
        }

        if (options.Abuse is { } abuse)
        {
            foreach (var callingCode in abuse.SmsCountryCodes ?? [])
            {
                if (string.IsNullOrEmpty(callingCode) || callingCode.Length > 4 || callingCode[0] == '0' || !callingCode.All(char.IsAsciiDigit))
                {
                    failures.Add($"OtpSignup:Abuse:SmsCountryCodes holds '{callingCode}', which is not a country calling code (1 to 4 digits, e.g. '1' or '44').");
                }
            }

            foreach (var region in abuse.SmsRegions ?? [])
            {
                if (region is not { Length: 2 } || !region.All(char.IsAsciiLetter))
                {
                    failures.Add($"OtpSignup:Abuse:SmsRegions holds '{region}', which is not an ISO 3166 region code (two letters, e.g. 'US').");
                }
            }

            foreach (var type in abuse.SmsNumberTypes ?? [])
            {
                if (!KnownNumberTypes.Contains(type ?? string.Empty))
                {
                    failures.Add($"OtpSignup:Abuse:SmsNumberTypes holds '{type}', which is not one of {string.Join(", ", KnownNumberTypes)}.");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures.Select(OtpConfigurationSection.Of(services).Rewrite));
    }

    /// <summary>The number types of <see cref="OtpAbuseOptions.SmsNumberTypes"/>: libphonenumber's, in configuration case.</summary>
    internal static readonly HashSet<string> KnownNumberTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "FixedLine", "Mobile", "FixedLineOrMobile", "TollFree", "PremiumRate", "SharedCost", "Voip", "PersonalNumber", "Pager", "Uan", "Voicemail", "Unknown",
    };

    /// <summary>How to make a key, ending every message about a missing or bad key.</summary>
    internal const string HowToMakeAKey = "Make one with `openssl rand -base64 32`.";

    /// <summary>Whether a key setting is absent: null, empty or white space (an environment variable set to nothing).</summary>
    /// <param name="value">The configured value.</param>
    /// <returns><see langword="true"/> when unset.</returns>
    internal static bool IsUnset([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] string? value) => string.IsNullOrWhiteSpace(value);

    /// <summary>The bytes of a base64 key of at least 32 bytes, or null when <paramref name="value"/> is not one.</summary>
    /// <param name="value">The configured value.</param>
    /// <returns>The key, or null.</returns>
    internal static byte[]? DecodeKey(string value)
    {
        try
        {
            var bytes = Convert.FromBase64String(value.Trim());
            return bytes.Length >= 32 ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // Key values are never echoed: a message may end up in a log.
    private static void ValidateKeys(OtpCodeOptions code, List<string> failures)
    {
        byte[]? Check(string? value, string key)
        {
            if (IsUnset(value))
            {
                return null;
            }

            var bytes = DecodeKey(value);
            if (bytes is null)
            {
                failures.Add($"{key} must be base64 of at least 32 bytes; the value given is not (it is not shown). {HowToMakeAKey}");
            }

            return bytes;
        }

        var current = Check(code.HashKey, "OtpSignup:Code:HashKey");
        var previous = Check(code.PreviousHashKey, "OtpSignup:Code:PreviousHashKey");
        _ = Check(code.KeyNameKey, "OtpSignup:Code:KeyNameKey");
        if (IsUnset(code.PreviousHashKey))
        {
            return;
        }

        if (IsUnset(code.HashKey))
        {
            failures.Add("OtpSignup:Code:PreviousHashKey is set but OtpSignup:Code:HashKey is not: a rotation needs the new key in HashKey and the old one in PreviousHashKey.");
        }
        else if (current is not null && previous is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(current, previous))
        {
            failures.Add("OtpSignup:Code:PreviousHashKey is the same key as OtpSignup:Code:HashKey: put the new key in HashKey, the replaced one in PreviousHashKey.");
        }

        if (IsUnset(code.KeyNameKey))
        {
            failures.Add("OtpSignup:Code:PreviousHashKey is set but OtpSignup:Code:KeyNameKey is not: store key names are derived from HashKey unless KeyNameKey is set, so rotating HashKey alone would make every pending entry unreachable. Set OtpSignup:Code:KeyNameKey to the key the names were made with (usually the value now in PreviousHashKey) and keep it through later rotations.");
        }
    }
}
