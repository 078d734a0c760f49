using System.Globalization;
using System.Net.Mail;
using Microsoft.Extensions.Options;

namespace OtpVerification.Senders;

/// <summary>
/// Settings of the SMTP email sender, bound from the <c>Smtp</c> configuration section and
/// validated at start-up.
/// </summary>
public sealed class SmtpSenderOptions
{
    /// <summary>The default configuration section: <c>Smtp</c>.</summary>
    public const string DefaultSectionName = "Smtp";

    /// <summary>The SMTP server's host name or IP address (<c>Smtp:Host</c>). Required.</summary>
    public string? Host { get; set; }

    /// <summary>
    /// The SMTP server's port (<c>Smtp:Port</c>, default 25). Use 587 with
    /// <see cref="EnableSsl"/>; implicit TLS on port 465 is not supported by System.Net.Mail.
    /// </summary>
    public int Port { get; set; } = 25;

    /// <summary>The sender's address, such as <c>no-reply@example.com</c> (<c>Smtp:From</c>). Required.</summary>
    public string? From { get; set; }

    /// <summary>The sender's display name, such as <c>Contoso</c> (<c>Smtp:FromName</c>). Optional.</summary>
    public string? FromName { get; set; }

    /// <summary>
    /// Whether to upgrade the connection with STARTTLS before sending (<c>Smtp:EnableSsl</c>,
    /// default <see langword="false"/>). When <see langword="true"/>, a server that does not offer
    /// STARTTLS is a delivery failure, never a silent fallback to plain text.
    /// </summary>
    public bool EnableSsl { get; set; }

    /// <summary>The user name to authenticate with (<c>Smtp:UserName</c>); no authentication when unset.</summary>
    public string? UserName { get; set; }

    /// <summary>
    /// The password to authenticate with (<c>Smtp:Password</c>). Keep it in a secret store, not
    /// in committed settings; it is never logged.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>How long one delivery may take, connection included (<c>Smtp:Timeout</c>, default 10 seconds).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Validates <see cref="SmtpSenderOptions"/>; messages name the configuration key.</summary>
internal sealed class SmtpSenderOptionsValidator : IValidateOptions<SmtpSenderOptions>
{
    private readonly string _section;

    public SmtpSenderOptionsValidator(string? section)
        => _section = string.IsNullOrEmpty(section) ? SmtpSenderOptions.DefaultSectionName : section;

    public ValidateOptionsResult Validate(string? name, SmtpSenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            failures.Add($"{_section}:Host is required: the host name of the SMTP server.");
        }
        else if (Uri.CheckHostName(options.Host.Trim()) == UriHostNameType.Unknown)
        {
            failures.Add($"{_section}:Host '{options.Host}' is not a valid host name or IP address.");
        }

        if (options.Port is < 1 or > 65535)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:Port {1} is out of range: use 1 to 65535 (25, or 587 with {0}:EnableSsl=true).", _section, options.Port));
        }
        else if (options.Port == 465)
        {
            failures.Add($"{_section}:Port 465 (implicit TLS) is not supported by System.Net.Mail: use port 587 with {_section}:EnableSsl=true (STARTTLS).");
        }

        if (string.IsNullOrWhiteSpace(options.From))
        {
            failures.Add($"{_section}:From is required: the sender's address, such as no-reply@example.com.");
        }
        else if (!MailAddress.TryCreate(options.From.Trim(), out var from) || !string.Equals(from.Address, options.From.Trim(), StringComparison.Ordinal))
        {
            failures.Add($"{_section}:From '{options.From}' is not a valid email address (put the display name in {_section}:FromName).");
        }

        if (options.FromName is not null && options.FromName.Any(char.IsControl))
        {
            failures.Add($"{_section}:FromName must not contain control characters or line breaks.");
        }

        if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password))
        {
            failures.Add(string.IsNullOrEmpty(options.UserName)
                ? $"{_section}:UserName is required when {_section}:Password is set."
                : $"{_section}:Password is required when {_section}:UserName is set.");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout.TotalMilliseconds > int.MaxValue)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:Timeout {1} must be positive, such as 00:00:10.", _section, options.Timeout));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
