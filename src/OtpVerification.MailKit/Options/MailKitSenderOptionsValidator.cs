using System.Globalization;
using Microsoft.Extensions.Options;
using MimeKit;

namespace OtpVerification.MailKit;

/// <summary>Validates <see cref="MailKitSenderOptions"/>; messages name the configuration key and never echo a secret.</summary>
internal sealed class MailKitSenderOptionsValidator : IValidateOptions<MailKitSenderOptions>
{
    private readonly string _section;
    private readonly bool _oauth2;

    public MailKitSenderOptionsValidator(string? section, bool oauth2)
    {
        _section = string.IsNullOrEmpty(section) ? MailKitSenderOptions.DefaultSectionName : section;
        _oauth2 = oauth2;
    }

    public ValidateOptionsResult Validate(string? name, MailKitSenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var s = _section;

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            failures.Add($"{s}:Host is required: the host name of the SMTP server.");
        }
        else if (Uri.CheckHostName(options.Host.Trim()) == UriHostNameType.Unknown)
        {
            failures.Add($"{s}:Host '{options.Host}' is not a valid host name or IP address.");
        }

        if (options.Port is < 1 or > 65535)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:Port {1} is out of range: use 1 to 65535 (587 with {0}:Security=StartTls, 465 with {0}:Security=SslOnConnect).", s, options.Port));
        }

        if (options.Security is { } security && !Enum.IsDefined(security))
        {
            failures.Add($"{s}:Security '{security}' is not one of StartTls, SslOnConnect, Auto, None.");
        }

        if (options.Security is { } chosen && options.EnableSsl is { } enableSsl && enableSsl != (chosen != SmtpSecurity.None))
        {
            failures.Add(string.Format(
                CultureInfo.InvariantCulture,
                "{0}:EnableSsl={1} contradicts {0}:Security={2}: remove {0}:EnableSsl ({0}:Security replaces it).",
                s,
                enableSsl ? "true" : "false",
                chosen));
        }

        if (options.Port == 465 && options.EffectiveSecurity == SmtpSecurity.StartTls)
        {
            failures.Add($"{s}:Port 465 expects implicit TLS: set {s}:Security=SslOnConnect (or use port 587 with STARTTLS).");
        }

        if (string.IsNullOrWhiteSpace(options.From))
        {
            failures.Add($"{s}:From is required: the sender's address, such as no-reply@example.com.");
        }
        else if (!MailboxAddress.TryParse(options.From.Trim(), out var from) || !string.IsNullOrEmpty(from.Name) || !string.Equals(from.Address, options.From.Trim(), StringComparison.Ordinal) || !from.Address.Contains('@', StringComparison.Ordinal))
        {
            failures.Add($"{s}:From '{options.From}' is not a valid email address (put the display name in {s}:FromName).");
        }

        if (options.FromName is not null && options.FromName.Any(char.IsControl))
        {
            failures.Add($"{s}:FromName must not contain control characters or line breaks.");
        }

        if (_oauth2)
        {
            if (string.IsNullOrWhiteSpace(options.UserName))
            {
                failures.Add($"{s}:UserName is required with OAuth2 (an ISmtpAccessTokenProvider is registered): the mailbox the access token is for.");
            }

            if (!string.IsNullOrEmpty(options.Password))
            {
                failures.Add($"{s}:Password must be empty with OAuth2 (an ISmtpAccessTokenProvider is registered): the access token replaces it.");
            }
        }
        else if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password))
        {
            failures.Add(string.IsNullOrEmpty(options.UserName)
                ? $"{s}:UserName is required when {s}:Password is set."
                : $"{s}:Password is required when {s}:UserName is set (or register an ISmtpAccessTokenProvider for OAuth2).");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout.TotalMilliseconds > int.MaxValue - 1000)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:Timeout {1} must be positive, such as 00:00:10.", s, options.Timeout));
        }

        if (options.KeepAlive < TimeSpan.Zero)
        {
            failures.Add(string.Format(CultureInfo.InvariantCulture, "{0}:KeepAlive {1} must not be negative (00:00:00 opens one connection per message).", s, options.KeepAlive));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
