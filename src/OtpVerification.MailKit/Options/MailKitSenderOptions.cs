using System.ComponentModel;
using System.Net.Security;

namespace OtpVerification.MailKit;

/// <summary>How the connection to the SMTP server is protected (<c>Smtp:Security</c>).</summary>
public enum SmtpSecurity
{
    /// <summary>
    /// Connect in plain text and upgrade with STARTTLS before anything else is sent (RFC 3207),
    /// usually on port 587. A server that does not offer STARTTLS is a delivery failure, never a
    /// fallback to plain text. The default.
    /// </summary>
    StartTls = 0,

    /// <summary>Implicit TLS from the first byte (RFC 8314), usually on port 465.</summary>
    SslOnConnect = 1,

    /// <summary>
    /// Implicit TLS on port 465, elsewhere STARTTLS when the server offers it and plain text when it
    /// does not. Someone on the path can strip the offer, so credentials are never sent over a
    /// plain connection in this mode (the send fails instead); prefer <see cref="StartTls"/>.
    /// </summary>
    Auto = 2,

    /// <summary>
    /// No TLS at all: codes and credentials cross the network in clear. Only for a local catcher
    /// such as MailDev or smtp4dev; it must be set explicitly.
    /// </summary>
    None = 3,
}

/// <summary>
/// Settings of the MailKit SMTP sender, bound from the <c>Smtp</c> configuration section and
/// validated at start-up.
/// </summary>
public sealed class MailKitSenderOptions
{
    /// <summary>The default configuration section: <c>Smtp</c>.</summary>
    public const string DefaultSectionName = "Smtp";

    /// <summary>The SMTP server's host name or IP address (<c>Smtp:Host</c>). Required.</summary>
    public string? Host { get; set; }

    /// <summary>
    /// The SMTP server's port (<c>Smtp:Port</c>). Unset: 465 with
    /// <see cref="SmtpSecurity.SslOnConnect"/>, otherwise 25. Submission servers usually listen on
    /// 587 (STARTTLS) or 465 (implicit TLS).
    /// </summary>
    public int? Port { get; set; }

    /// <summary>
    /// How the connection is protected (<c>Smtp:Security</c>: <c>StartTls</c>, <c>SslOnConnect</c>,
    /// <c>Auto</c> or <c>None</c>). Unset: <see cref="SmtpSecurity.StartTls"/>, unless the older
    /// <see cref="EnableSsl"/> key is set.
    /// </summary>
    public SmtpSecurity? Security { get; set; }

    /// <summary>
    /// The key of the System.Net.Mail sender this one replaces (<c>Smtp:EnableSsl</c>), still
    /// accepted: <see langword="true"/> means <see cref="SmtpSecurity.StartTls"/>,
    /// <see langword="false"/> means <see cref="SmtpSecurity.None"/>. Use <see cref="Security"/>
    /// instead; setting both to different meanings is a start-up error.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public bool? EnableSsl { get; set; }

    /// <summary>The sender's address, such as <c>no-reply@example.com</c> (<c>Smtp:From</c>). Required.</summary>
    public string? From { get; set; }

    /// <summary>The sender's display name, such as <c>Contoso</c> (<c>Smtp:FromName</c>). Optional.</summary>
    public string? FromName { get; set; }

    /// <summary>
    /// The user name to authenticate with (<c>Smtp:UserName</c>): with <see cref="Password"/>, or
    /// alone when an <see cref="ISmtpAccessTokenProvider"/> is registered (OAuth2, the mailbox the
    /// token was issued for). No authentication when unset.
    /// </summary>
    public string? UserName { get; set; }

    /// <summary>
    /// The password to authenticate with (<c>Smtp:Password</c>). Keep it in a secret store, not in
    /// committed settings; it is never logged and never sent over a connection without TLS unless
    /// <see cref="Security"/> is <see cref="SmtpSecurity.None"/>.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>
    /// How long one delivery may take, waiting for the shared connection, connecting and
    /// authenticating included (<c>Smtp:Timeout</c>, default 10 seconds).
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the connection is kept open while no message is sent (<c>Smtp:KeepAlive</c>,
    /// default one minute); the next message after a longer pause opens a new one.
    /// <see cref="TimeSpan.Zero"/> opens one connection per message.
    /// </summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Checks the server's TLS certificate instead of the system's default check (which requires a
    /// certificate chaining to a trusted root, for the host name, and not revoked). Set it to trust
    /// a private CA or a pinned certificate; never to accept everything. Not bound from
    /// configuration.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidationCallback { get; set; }

    /// <summary>The security in force: <see cref="Security"/>, else the meaning of <see cref="EnableSsl"/>, else STARTTLS.</summary>
    internal SmtpSecurity EffectiveSecurity => Security ?? EnableSsl switch
    {
        true => SmtpSecurity.StartTls,
        false => SmtpSecurity.None,
        null => SmtpSecurity.StartTls,
    };

    /// <summary>The port in force: <see cref="Port"/>, else 465 for implicit TLS and 25 otherwise.</summary>
    internal int EffectivePort => Port ?? (EffectiveSecurity == SmtpSecurity.SslOnConnect ? 465 : 25);
}
