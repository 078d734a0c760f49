using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using OtpVerification.Senders;

namespace OtpVerification.MailKit;

/// <summary>
/// Sends email codes over SMTP with MailKit: STARTTLS, implicit TLS or (explicitly) none; XOAUTH2
/// through an <see cref="ISmtpAccessTokenProvider"/>, or a user name and password; and one
/// kept-alive connection shared by every message, one message at a time. A reused connection the
/// server has dropped is replaced (and the message sent once more on the new one); one idle for
/// longer than <see cref="NoopAfter"/> is checked with <c>NOOP</c> first, and one idle for longer
/// than <see cref="MailKitSenderOptions.KeepAlive"/> is closed and replaced. Every failure becomes
/// an <see cref="OtpDeliveryException"/> whose text holds the masked address and the failure's type,
/// never the code, the recipient or the server's own words (which may quote the recipient).
/// </summary>
internal sealed partial class MailKitOtpSender : IOtpSender, IAsyncDisposable, IDisposable
{
    /// <summary>A connection idle for this long is checked with NOOP before a message is sent on it.</summary>
    internal static readonly TimeSpan NoopAfter = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(2);

    private readonly IOptionsMonitor<MailKitSenderOptions> _options;
    private readonly IOtpMessageFormatter _formatter;
    private readonly ISmtpAccessTokenProvider? _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger<MailKitOtpSender> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SmtpClient? _client;
    private MailKitSenderOptions? _clientOptions;
    private long _lastUsed;
    private bool _disposed;

    public MailKitOtpSender(
        IOptionsMonitor<MailKitSenderOptions> options,
        IOtpMessageFormatter formatter,
        TimeProvider time,
        ILogger<MailKitOtpSender> logger,
        ISmtpAccessTokenProvider? tokens = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _tokens = tokens;
    }

    public OtpChannel Channel => OtpChannel.Email;

    public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var options = _options.CurrentValue;
        var masked = OtpAddress.Mask(message.To);
        var host = options.Host!.Trim();
        var port = options.EffectivePort;
        var started = _time.GetTimestamp();

        using var timeout = new CancellationTokenSource(options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var entered = false;
        bool reused;
        try
        {
            using var mime = CreateMessage(options, message);
            await _gate.WaitAsync(linked.Token).ConfigureAwait(false);
            entered = true;
            reused = await SendOnSharedConnectionAsync(options, host, port, mime, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up (request aborted, shutdown): not a delivery fault.
            throw new OperationCanceledException("The email delivery was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested)
        {
            Log.TimedOut(_logger, masked, host, port, options.Timeout.TotalSeconds, ex.GetType().Name);
            throw new OtpDeliveryException(string.Format(
                CultureInfo.InvariantCulture,
                "The email to {0} could not be delivered: the SMTP server {1}:{2} did not complete within {3:0.###} s ({4}).",
                masked,
                host,
                port,
                options.Timeout.TotalSeconds,
                ex.GetType().Name));
        }
        catch (Exception ex) when (ex is not OtpDeliveryException)
        {
            // By type and status only: a server's reply text (and so ex.Message) may quote the recipient.
            var reason = Describe(ex);
            Log.Failed(_logger, masked, host, port, reason);
            throw new OtpDeliveryException(string.Format(CultureInfo.InvariantCulture, "The email to {0} could not be delivered by the SMTP server {1}:{2} ({3}).", masked, host, port, reason));
        }
        finally
        {
            if (entered)
            {
                _gate.Release();
            }
        }

        Log.Sent(_logger, masked, host, port, _time.GetElapsedTime(started).TotalMilliseconds, reused);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using var wait = new CancellationTokenSource(QuitTimeout);
        var entered = false;
        try
        {
            await _gate.WaitAsync(wait.Token).ConfigureAwait(false);
            entered = true;
        }
        catch (OperationCanceledException)
        {
            // A send is still running: close the connection under it.
        }

        try
        {
            await CloseAsync(quit: true).ConfigureAwait(false);
        }
        finally
        {
            if (entered)
            {
                _gate.Release();
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>A short, recipient-free description of a failure: its type, and the SMTP status or socket error.</summary>
    internal static string Describe(Exception ex) => ex switch
    {
        SmtpCommandException smtp => string.Format(CultureInfo.InvariantCulture, "{0} {1}, {2} {3}", nameof(SmtpCommandException), smtp.ErrorCode, (int)smtp.StatusCode, smtp.StatusCode),
        SocketException socket => string.Format(CultureInfo.InvariantCulture, "{0} {1}", nameof(SocketException), socket.SocketErrorCode),
        _ when ex.InnerException is SocketException inner => string.Format(CultureInfo.InvariantCulture, "{0}: {1} {2}", ex.GetType().Name, nameof(SocketException), inner.SocketErrorCode),
        _ => ex.GetType().Name,
    };

    private static bool IsConnectionLost(Exception ex)
        => ex is IOException or SocketException or ServiceNotConnectedException or SmtpProtocolException
            || (ex is SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable });

    private static SecureSocketOptions ToSocketOptions(SmtpSecurity security) => security switch
    {
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        SmtpSecurity.Auto => SecureSocketOptions.Auto,
        SmtpSecurity.None => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTls,
    };

    /// <summary>Sends on the shared connection (the caller holds the gate); returns whether an open connection was reused.</summary>
    private async Task<bool> SendOnSharedConnectionAsync(MailKitSenderOptions options, string host, int port, MimeMessage mime, CancellationToken cancellationToken)
    {
        var client = await ReuseAsync(options, cancellationToken).ConfigureAwait(false);
        if (client is not null)
        {
            try
            {
                await client.SendAsync(mime, cancellationToken).ConfigureAwait(false);
                await DoneAsync(options).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (IsConnectionLost(ex) && !cancellationToken.IsCancellationRequested)
            {
                // The server closed the kept-alive connection (idle timeout, restart): the message was
                // not accepted on it, so send it once more on a new connection.
                Log.ConnectionLost(_logger, host, port, ex.GetType().Name);
                await CloseAsync(quit: false).ConfigureAwait(false);
            }
            catch
            {
                await CloseAsync(quit: false).ConfigureAwait(false);
                throw;
            }
        }

        client = await OpenAsync(options, host, port, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.SendAsync(mime, cancellationToken).ConfigureAwait(false);
            await DoneAsync(options).ConfigureAwait(false);
            return false;
        }
        catch
        {
            // The connection's state is unknown after any failure: never reuse it.
            await CloseAsync(quit: false).ConfigureAwait(false);
            throw;
        }
    }

    private async ValueTask DoneAsync(MailKitSenderOptions options)
    {
        _lastUsed = _time.GetTimestamp();
        if (options.KeepAlive <= TimeSpan.Zero)
        {
            await CloseAsync(quit: true).ConfigureAwait(false);
        }
    }

    /// <summary>The open connection if it can carry a message now, else <see langword="null"/> (closed).</summary>
    private async Task<SmtpClient?> ReuseAsync(MailKitSenderOptions options, CancellationToken cancellationToken)
    {
        if (_client is not { } client)
        {
            return null;
        }

        var idle = _time.GetElapsedTime(_lastUsed);
        if (!client.IsConnected || idle >= options.KeepAlive || !ReferenceEquals(_clientOptions, options))
        {
            // Dropped, idle too long, or the settings were reloaded (IOptionsMonitor hands out a new
            // instance then): the server or the account may have changed.
            await CloseAsync(quit: client.IsConnected).ConfigureAwait(false);
            return null;
        }

        if (idle < NoopAfter)
        {
            return client;
        }

        try
        {
            await client.NoOpAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (IsConnectionLost(ex) || ex is SmtpCommandException))
        {
            Log.ConnectionLost(_logger, options.Host!.Trim(), options.EffectivePort, ex.GetType().Name);
            await CloseAsync(quit: false).ConfigureAwait(false);
            return null;
        }
    }

    private async Task<SmtpClient> OpenAsync(MailKitSenderOptions options, string host, int port, CancellationToken cancellationToken)
    {
        var security = options.EffectiveSecurity;
        var client = new SmtpClient
        {
            // A backstop only: the token ends the send first, so a timeout is reported as one.
            Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds + 1000),
        };
        if (options.ServerCertificateValidationCallback is { } validate)
        {
            client.ServerCertificateValidationCallback = validate;
        }

        try
        {
            await client.ConnectAsync(host, port, ToSocketOptions(security), cancellationToken).ConfigureAwait(false);
            var mechanism = "none";
            if (!string.IsNullOrEmpty(options.UserName))
            {
                if (!client.IsSecure && security != SmtpSecurity.None)
                {
                    // Auto fell back to plain text (no STARTTLS offered, or the offer was stripped).
                    throw new SmtpNotSecureException();
                }

                var userName = options.UserName.Trim();
                if (_tokens is not null)
                {
                    var token = await _tokens.GetAccessTokenAsync(userName, cancellationToken).ConfigureAwait(false);
                    await client.AuthenticateAsync(new SaslMechanismOAuth2(userName, token), cancellationToken).ConfigureAwait(false);
                    mechanism = "XOAUTH2";
                }
                else
                {
                    await client.AuthenticateAsync(new NetworkCredential(userName, options.Password), cancellationToken).ConfigureAwait(false);
                    mechanism = "password";
                }
            }

            Log.Connected(_logger, host, port, client.IsSecure ? client.SslProtocol.ToString() : "no TLS", mechanism);
            _client = client;
            _clientOptions = options;
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private async ValueTask CloseAsync(bool quit)
    {
        if (_client is not { } client)
        {
            return;
        }

        _client = null;
        try
        {
            if (quit && client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(QuitTimeout);
                await client.DisconnectAsync(true, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ProtocolException or CommandException or ServiceNotConnectedException)
        {
            // Closing anyway: a failed QUIT is nothing to report.
        }
        finally
        {
            client.Dispose();
        }
    }

    private MimeMessage CreateMessage(MailKitSenderOptions options, OtpMessage message)
    {
        var formatted = _formatter.Format(message);
        var mime = new MimeMessage
        {
            Subject = formatted.Subject,
            Date = message.SentAt,
        };
        try
        {
            mime.From.Add(new MailboxAddress(string.IsNullOrWhiteSpace(options.FromName) ? null : options.FromName.Trim(), options.From!.Trim()));
            mime.To.Add(new MailboxAddress(null, message.To));

            // RFC 3834: an automatic message; well-behaved servers send no vacation replies to it.
            mime.Headers.Add("Auto-Submitted", "auto-generated");

            // multipart/alternative, least preferred first: plain text, then HTML (RFC 2046).
            mime.Body = new BodyBuilder { TextBody = formatted.TextBody, HtmlBody = formatted.HtmlBody }.ToMessageBody();
            return mime;
        }
        catch
        {
            mime.Dispose();
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, EventName = "SmtpDelivered", Level = LogLevel.Information, Message = "Email code to {MaskedAddress} handed to SMTP server {Host}:{Port} in {ElapsedMilliseconds:0} ms (connection reused: {Reused}).")]
        public static partial void Sent(ILogger logger, string maskedAddress, string host, int port, double elapsedMilliseconds, bool reused);

        [LoggerMessage(EventId = 1402, EventName = "SmtpDeliveryFailed", Level = LogLevel.Warning, Message = "Email code to {MaskedAddress} could not be delivered by SMTP server {Host}:{Port} ({Reason}).")]
        public static partial void Failed(ILogger logger, string maskedAddress, string host, int port, string reason);

        [LoggerMessage(EventId = 1403, EventName = "SmtpDeliveryTimedOut", Level = LogLevel.Warning, Message = "Email code to {MaskedAddress}: SMTP server {Host}:{Port} did not complete within {TimeoutSeconds} s ({ExceptionType}).")]
        public static partial void TimedOut(ILogger logger, string maskedAddress, string host, int port, double timeoutSeconds, string exceptionType);

        [LoggerMessage(EventId = 1404, EventName = "SmtpConnected", Level = LogLevel.Debug, Message = "Connected to SMTP server {Host}:{Port} ({Tls}, authentication: {Mechanism}).")]
        public static partial void Connected(ILogger logger, string host, int port, string tls, string mechanism);

        [LoggerMessage(EventId = 1405, EventName = "SmtpConnectionLost", Level = LogLevel.Information, Message = "The kept-alive connection to SMTP server {Host}:{Port} was lost ({ExceptionType}); opening a new one.")]
        public static partial void ConnectionLost(ILogger logger, string host, int port, string exceptionType);
    }
}

/// <summary>
/// The connection to the SMTP server is not encrypted (<see cref="SmtpSecurity.Auto"/> found no
/// STARTTLS), so the credentials were not sent.
/// </summary>
internal sealed class SmtpNotSecureException : Exception
{
    public SmtpNotSecureException()
        : base("The SMTP connection is not encrypted; credentials are only sent over TLS unless Smtp:Security is None.")
    {
    }
}
