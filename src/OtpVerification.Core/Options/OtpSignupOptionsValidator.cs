using System.Globalization;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Cross-field rules for <see cref="OtpSignupOptions"/> that DataAnnotations cannot express.
/// Each failure names the configuration key and the bad value.
/// </summary>
internal sealed class OtpSignupOptionsValidator : IValidateOptions<OtpSignupOptions>
{
    public ValidateOptionsResult Validate(string? name, OtpSignupOptions options)
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

            if (code.HashKey is { } key)
            {
                byte[]? bytes = null;
                try
                {
                    bytes = Convert.FromBase64String(key);
                }
                catch (FormatException)
                {
                }

                if (bytes is null || bytes.Length < 32)
                {
                    failures.Add("OtpSignup:Code:HashKey must be base64 of at least 32 bytes (the value given is not; it is not shown).");
                }
            }
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

        if (options.Abuse is { } abuse)
        {
            foreach (var callingCode in abuse.SmsCountryCodes ?? [])
            {
                if (string.IsNullOrEmpty(callingCode) || callingCode.Length > 4 || callingCode[0] == '0' || !callingCode.All(char.IsAsciiDigit))
                {
                    failures.Add($"OtpSignup:Abuse:SmsCountryCodes holds '{callingCode}', which is not a country calling code (1 to 4 digits, e.g. '1' or '44').");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
