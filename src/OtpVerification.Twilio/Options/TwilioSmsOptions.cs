using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Options;
using OtpVerification.Senders;

namespace OtpVerification.Twilio;

/// <summary>
/// Settings of the Twilio SMS sender, bound from a configuration section (<c>Sms:Twilio</c> by
/// convention) and validated at start-up.
/// </summary>
public sealed class TwilioSmsOptions
{
    /// <summary>The conventional configuration section: <c>Sms:Twilio</c>.</summary>
    public const string DefaultSectionName = "Sms:Twilio";

    /// <summary>
    /// The name of the <see cref="System.Net.Http.IHttpClientFactory"/> client the sender uses; configure it
    /// with <c>services.AddHttpClient(TwilioSmsOptions.HttpClientName)</c> to add a proxy or handlers.
    /// </summary>
    public const string HttpClientName = "OtpVerification.Twilio";

    /// <summary>The Twilio account SID, <c>AC</c> and 32 hexadecimal digits (<c>AccountSid</c>). Required.</summary>
    public string? AccountSid { get; set; }

    /// <summary>
    /// The account's auth token (<c>AuthToken</c>), sent as the HTTP basic password. Required;
    /// keep it in a secret store. It is never logged.
    /// </summary>
    public string? AuthToken { get; set; }

    /// <summary>
    /// The sending phone number in E.164 form, or an alphanumeric sender ID (<c>From</c>).
    /// Required unless <see cref="MessagingServiceSid"/> is set.
    /// </summary>
    public string? From { get; set; }

    /// <summary>
    /// The Messaging Service that picks the sender, <c>MG</c> and 32 hexadecimal digits
    /// (<c>MessagingServiceSid</c>). Required unless <see cref="From"/> is set.
    /// </summary>
    public string? MessagingServiceSid { get; set; }

    /// <summary>
    /// The API's base address (<c>BaseUrl</c>, default <c>https://api.twilio.com</c>). Must be
    /// HTTPS, except on a loopback host (tests, local relays).
    /// </summary>
    public Uri BaseUrl { get; set; } = new("https://api.twilio.com");

    /// <summary>How long one API call may take (<c>Timeout</c>, default 10 seconds).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Validates <see cref="TwilioSmsOptions"/>; messages name the configuration key.</summary>
internal sealed class TwilioSmsOptionsValidator : IValidateOptions<TwilioSmsOptions>
{
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private readonly string _section;

    public TwilioSmsOptionsValidator(string? section)
        => _section = string.IsNullOrEmpty(section) ? TwilioSmsOptions.DefaultSectionName : section;

    public ValidateOptionsResult Validate(string? name, TwilioSmsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.AccountSid))
        {
            failures.Add($"{_section}:AccountSid is required: the Twilio account SID (AC followed by 32 hexadecimal digits).");
        }
        else if (!IsSid(options.AccountSid, "AC"))
        {
            failures.Add($"{_section}:AccountSid '{options.AccountSid}' is not a Twilio account SID (AC followed by 32 hexadecimal digits).");
        }

        if (string.IsNullOrWhiteSpace(options.AuthToken))
        {
            // The value is a secret: never echoed, even when wrong.
            failures.Add($"{_section}:AuthToken is required: the account's auth token (keep it in a secret store).");
        }

        if (string.IsNullOrWhiteSpace(options.From) && string.IsNullOrWhiteSpace(options.MessagingServiceSid))
        {
            failures.Add($"{_section}:From or {_section}:MessagingServiceSid is required: the sending number (E.164) or the Messaging Service SID.");
        }

        if (!string.IsNullOrWhiteSpace(options.From) && options.From.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            failures.Add($"{_section}:From '{options.From}' must be an E.164 number such as +14155550100 or an alphanumeric sender ID.");
        }

        if (!string.IsNullOrWhiteSpace(options.MessagingServiceSid) && !IsSid(options.MessagingServiceSid, "MG"))
        {
            failures.Add($"{_section}:MessagingServiceSid '{options.MessagingServiceSid}' is not a Messaging Service SID (MG followed by 32 hexadecimal digits).");
        }

        if (options.BaseUrl is null || !options.BaseUrl.IsAbsoluteUri || !string.IsNullOrEmpty(options.BaseUrl.Query) || !string.IsNullOrEmpty(options.BaseUrl.UserInfo)
            || !(options.BaseUrl.Scheme == Uri.UriSchemeHttps || (options.BaseUrl.Scheme == Uri.UriSchemeHttp && options.BaseUrl.IsLoopback)))
        {
            failures.Add($"{_section}:BaseUrl '{options.BaseUrl}' must be an absolute https:// address without query or credentials, such as https://api.twilio.com (http:// only on a loopback host).");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout.TotalMilliseconds > int.MaxValue)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:Timeout {1} must be positive, such as 00:00:10.", _section, options.Timeout));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsSid(string value, string prefix)
        => value.Length == 34 && value.StartsWith(prefix, StringComparison.Ordinal) && !value.AsSpan(2).ContainsAnyExcept(HexDigits);
}
