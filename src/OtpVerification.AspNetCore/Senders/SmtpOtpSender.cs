using System.Globalization;
using System.Net;
using System.Net.Mail;
using System.Net.Mime;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OtpVerification.Senders;

/// <summary>
/// Sends email codes over SMTP with System.Net.Mail: one connection per message, a
/// multipart/alternative body (plain text, then HTML) from the <see cref="IOtpMessageFormatter"/>,
/// STARTTLS when <see cref="SmtpSenderOptions.EnableSsl"/> is set, and a hard time limit.
/// Every failure becomes an <see cref="OtpDeliveryException"/> whose text holds no code.
/// </summary>
internal sealed partial class SmtpOtpSender : IOtpSender
{
    private readonly IOptionsMonitor<SmtpSenderOptions> _options;
    private readonly IOtpMessageFormatter _formatter;
    private readonly TimeProvider _time;
    private readonly ILogger<SmtpOtpSender> _logger;

    public SmtpOtpSender(IOptionsMonitor<SmtpSenderOptions> options, IOtpMessageFormatter formatter, TimeProvider time, ILogger<SmtpOtpSender> logger)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public OtpChannel Channel => OtpChannel.Email;

    public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var options = _options.CurrentValue;
        var masked = OtpAddress.Mask(message.To);
        var host = options.Host!.Trim();
        var started = _time.GetTimestamp();

        using var timeout = new CancellationTokenSource(options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var mail = CreateMail(options, message);
            using var client = new SmtpClient(host, options.Port)
            {
                DeliveryMethod = SmtpDeliveryMethod.Network,
                EnableSsl = options.EnableSsl,
                // A backstop only: the token above ends the send first, so a timeout is reported as one.
                Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds + 1000),
                UseDefaultCredentials = false,
            };
            if (!string.IsNullOrEmpty(options.UserName))
            {
                client.Credentials = new NetworkCredential(options.UserName, options.Password);
            }

            await client.SendMailAsync(mail, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or SmtpException)
        {
            // The caller gave up (request aborted, shutdown): not a delivery fault.
            throw new OperationCanceledException("The email delivery was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && ex is OperationCanceledException or SmtpException or IOException or SocketException)
        {
            Log.TimedOut(_logger, masked, host, options.Port, options.Timeout.TotalSeconds);
            throw new OtpDeliveryException(
                string.Format(CultureInfo.InvariantCulture, "The email to {0} could not be delivered: the SMTP server {1}:{2} did not complete within {3:0.###} s.", masked, host, options.Port, options.Timeout.TotalSeconds),
                ex);
        }
        catch (Exception ex) when (ex is SmtpException or IOException or SocketException or AuthenticationException or InvalidOperationException or FormatException or ArgumentException)
        {
            var status = ex is SmtpException smtp ? smtp.StatusCode.ToString() : ex.GetType().Name;
            Log.Failed(_logger, ex, masked, host, options.Port, status);
            throw new OtpDeliveryException(
                string.Format(CultureInfo.InvariantCulture, "The email to {0} could not be delivered by the SMTP server {1}:{2} ({3}).", masked, host, options.Port, status),
                ex);
        }

        Log.Sent(_logger, masked, host, options.Port, _time.GetElapsedTime(started).TotalMilliseconds);
    }

    private MailMessage CreateMail(SmtpSenderOptions options, OtpMessage message)
    {
        var formatted = _formatter.Format(message);
        var mail = new MailMessage
        {
            From = new MailAddress(options.From!.Trim(), string.IsNullOrWhiteSpace(options.FromName) ? null : options.FromName.Trim(), Encoding.UTF8),
            SubjectEncoding = Encoding.UTF8,
            HeadersEncoding = Encoding.UTF8,
            BodyEncoding = Encoding.UTF8,
        };
        try
        {
            mail.To.Add(new MailAddress(message.To));
            mail.Subject = formatted.Subject;

            // RFC 3834: an automatic message; well-behaved servers send no vacation replies to it.
            mail.Headers.Add("Auto-Submitted", "auto-generated");
            if (formatted.HtmlBody is null)
            {
                mail.Body = formatted.TextBody;
                mail.IsBodyHtml = false;
            }
            else
            {
                // Least preferred first: plain text, then HTML (RFC 2046 multipart/alternative).
                mail.AlternateViews.Add(AlternateView.CreateAlternateViewFromString(formatted.TextBody, Encoding.UTF8, MediaTypeNames.Text.Plain));
                mail.AlternateViews.Add(AlternateView.CreateAlternateViewFromString(formatted.HtmlBody, Encoding.UTF8, MediaTypeNames.Text.Html));
            }

            return mail;
        }
        catch
        {
            mail.Dispose();
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, EventName = "SmtpDelivered", Level = LogLevel.Information, Message = "Email code to {MaskedAddress} handed to SMTP server {Host}:{Port} in {ElapsedMilliseconds:0} ms.")]
        public static partial void Sent(ILogger logger, string maskedAddress, string host, int port, double elapsedMilliseconds);

        [LoggerMessage(EventId = 1402, EventName = "SmtpDeliveryFailed", Level = LogLevel.Warning, Message = "Email code to {MaskedAddress} could not be delivered by SMTP server {Host}:{Port} ({Status}).")]
        public static partial void Failed(ILogger logger, Exception exception, string maskedAddress, string host, int port, string status);

        [LoggerMessage(EventId = 1403, EventName = "SmtpDeliveryTimedOut", Level = LogLevel.Warning, Message = "Email code to {MaskedAddress}: SMTP server {Host}:{Port} did not complete within {TimeoutSeconds} s.")]
        public static partial void TimedOut(ILogger logger, string maskedAddress, string host, int port, double timeoutSeconds);
    }
}
