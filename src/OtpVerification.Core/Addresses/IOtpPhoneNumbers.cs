using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Parses phone numbers and decides where text messages may go. <c>OtpVerification.AspNetCore</c>
/// registers one built on libphonenumber (real numbering plans: regions and number types); the
/// Core default (<see cref="BasicOtpPhoneNumbers"/>) knows only the E.164 shape and calling codes.
/// </summary>
public interface IOtpPhoneNumbers
{
    /// <summary>Normalises a number typed in international form to E.164.</summary>
    /// <param name="input">The number as typed, e.g. <c>+1 (415) 555-0123</c>.</param>
    /// <param name="e164">The E.164 number when the result is <see langword="true"/>.</param>
    /// <returns><see langword="true"/> when the input is a valid international number.</returns>
    bool TryNormalize(string? input, [NotNullWhen(true)] out string? e164);

    /// <summary>Whether a code may be texted to <paramref name="e164"/> under <c>OtpSignup:Abuse</c> (regions, number types, calling codes).</summary>
    /// <param name="e164">A number as <see cref="TryNormalize"/> returned it.</param>
    /// <returns><see langword="true"/> when SMS may go there.</returns>
    bool AllowsSms(string e164);
}

/// <summary>
/// The Core phone rules: the E.164 shape (<see cref="OtpAddress.TryNormalizePhone"/>) and the
/// calling-code allow-list <see cref="OtpAbuseOptions.SmsCountryCodes"/>. Regions and number types
/// (<see cref="OtpAbuseOptions.SmsRegions"/>, <see cref="OtpAbuseOptions.SmsNumberTypes"/>) need a
/// numbering plan: with this implementation, a configured region list refuses every number.
/// </summary>
/// <param name="options">The options.</param>
public sealed class BasicOtpPhoneNumbers(IOptionsMonitor<OtpVerificationOptions> options) : IOtpPhoneNumbers
{
    /// <inheritdoc />
    public bool TryNormalize(string? input, [NotNullWhen(true)] out string? e164) => OtpAddress.TryNormalizePhone(input, out e164);

    /// <inheritdoc />
    public bool AllowsSms(string e164)
    {
        ArgumentNullException.ThrowIfNull(options);
        var abuse = options.CurrentValue.Abuse;
        return abuse.AllowsSmsTo(e164) && (abuse.SmsRegions is null || abuse.SmsRegions.Length == 0);
    }
}
