using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using PhoneNumbers;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Phone numbers by libphonenumber's numbering plans: a number is valid only if its plan says so,
/// and SMS goes only to the regions of <c>OtpSignup:Abuse:SmsRegions</c> (by the number's own
/// region, so <c>US</c> does not admit the Caribbean ranges that share calling code 1) and the
/// number types of <c>OtpSignup:Abuse:SmsNumberTypes</c> (mobile by default: premium-rate,
/// shared-cost and VoIP numbers are where SMS pumping fraud pays).
/// </summary>
/// <param name="options">The options.</param>
internal sealed class LibPhoneNumberOtpPhoneNumbers(IOptionsMonitor<OtpVerificationOptions> options) : IOtpPhoneNumbers
{
    private const int MaxInputLength = 32;
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    public bool TryNormalize(string? input, [NotNullWhen(true)] out string? e164)
    {
        e164 = null;
        if (string.IsNullOrWhiteSpace(input) || input.Length > MaxInputLength)
        {
            return false;
        }

        var trimmed = input.Trim();
        if (trimmed.StartsWith("00", StringComparison.Ordinal))
        {
            trimmed = "+" + trimmed[2..];
        }

        // International form only: without a "+" there is no country to read the number in.
        if (!trimmed.StartsWith('+') || trimmed.Any(c => !(char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '.' or '(' or ')')))
        {
            return false;
        }

        try
        {
            var number = Util.Parse(trimmed, null);
            if (!Util.IsValidNumber(number))
            {
                return false;
            }

            e164 = Util.Format(number, PhoneNumberFormat.E164);
            return true;
        }
        catch (NumberParseException)
        {
            return false;
        }
    }

    public bool AllowsSms(string e164)
    {
        ArgumentNullException.ThrowIfNull(e164);
        var abuse = options.CurrentValue.Abuse;
        if (!abuse.AllowsSmsTo(e164))
        {
            return false;
        }

        PhoneNumber number;
        try
        {
            number = Util.Parse(e164, null);
        }
        catch (NumberParseException)
        {
            return false;
        }

        if (abuse.SmsRegions is { Length: > 0 } regions)
        {
            var region = Util.GetRegionCodeForNumber(number);
            if (region is null || !regions.Contains(region, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        var type = TypeName(Util.GetNumberType(number));
        return abuse.SmsNumberTypes is { Length: > 0 } types
            ? types.Contains(type, StringComparer.OrdinalIgnoreCase)
            : type is "Mobile" or "FixedLineOrMobile";
    }

    /// <summary>libphonenumber's type in configuration case (<c>FIXED_LINE_OR_MOBILE</c> is <c>FixedLineOrMobile</c>).</summary>
    private static string TypeName(PhoneNumberType type) => type switch
    {
        PhoneNumberType.FIXED_LINE => "FixedLine",
        PhoneNumberType.MOBILE => "Mobile",
        PhoneNumberType.FIXED_LINE_OR_MOBILE => "FixedLineOrMobile",
        PhoneNumberType.TOLL_FREE => "TollFree",
        PhoneNumberType.PREMIUM_RATE => "PremiumRate",
        PhoneNumberType.SHARED_COST => "SharedCost",
        PhoneNumberType.VOIP => "Voip",
        PhoneNumberType.PERSONAL_NUMBER => "PersonalNumber",
        PhoneNumberType.PAGER => "Pager",
        PhoneNumberType.UAN => "Uan",
        PhoneNumberType.VOICEMAIL => "Voicemail",
        _ => "Unknown",
    };
}
