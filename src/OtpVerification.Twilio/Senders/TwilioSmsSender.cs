using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification.Senders;

namespace OtpVerification.Twilio;

/// <summary>
/// Sends SMS codes through Twilio's Messages API
/// (<c>POST {BaseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json</c>, form-encoded <c>To</c>,
/// <c>From</c> or <c>MessagingServiceSid</c>, <c>Body</c>; HTTP basic auth with the account SID and
/// auth token) on its typed <see cref="HttpClient"/> (<c>AddHttpClient&lt;TwilioSmsSender&gt;</c>, named
/// <see cref="TwilioSmsOptions.HttpClientName"/>). Any failure becomes an
/// <see cref="OtpDeliveryException"/> naming the HTTP status and Twilio's error code, never the text.
/// </summary>
/// <remarks>
/// One request per message and never a retry: once a request may have reached Twilio (it timed
/// out, the connection broke after sending, Twilio answered 5xx) sending it again could deliver a
/// second, paid SMS. The engine answers 503 and the user asks for a new code.
/// The credentials go only into the <c>Authorization</c> header; no log line or exception text
/// carries them, the code or the full number.
/// </remarks>
internal sealed partial class TwilioSmsSender : IOtpSender
{
    // Twilio's error bodies are small; a larger one is cut rather than buffered whole.
    private const int MaxErrorBodyBytes = 16 * 1024;

    private readonly HttpClient _client;
    private readonly IOptionsMonitor<TwilioSmsOptions> _options;
    private readonly IOtpMessageFormatter _formatter;
    private readonly TimeProvider _time;
    private readonly ILogger<TwilioSmsSender> _logger;

    public TwilioSmsSender(HttpClient client, IOptionsMonitor<TwilioSmsOptions> options, IOtpMessageFormatter formatter, TimeProvider time, ILogger<TwilioSmsSender> logger)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public OtpChannel Channel => OtpChannel.Sms;

    public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var options = _options.CurrentValue;
        var masked = OtpAddress.Mask(message.To);
        var body = _formatter.Format(message).TextBody;

        using var request = CreateRequest(options, message.To, body);
        using var timeout = new CancellationTokenSource(options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                var sid = await ReadStringPropertyAsync(response, "sid", linked.Token).ConfigureAwait(false);
                Log.Sent(_logger, masked, status, sid ?? "(none)");
                return;
            }

            var code = await ReadStringPropertyAsync(response, "code", linked.Token).ConfigureAwait(false);
            Log.Rejected(_logger, masked, status, code ?? "(none)");
            var text = string.Format(
                CultureInfo.InvariantCulture,
                "The SMS to {0} was refused by Twilio: HTTP {1} ({2}){3}.",
                masked,
                status,
                response.ReasonPhrase ?? response.StatusCode.ToString(),
                code is null ? string.Empty : ", Twilio error " + code);
            throw new OtpDeliveryException(text);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The SMS delivery was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested && ex is OperationCanceledException or HttpRequestException or IOException)
        {
            Log.TimedOut(_logger, masked, options.Timeout.TotalSeconds);
            throw new OtpDeliveryException(
                string.Format(CultureInfo.InvariantCulture, "The SMS to {0} could not be delivered: Twilio did not answer within {1:0.###} s.", masked, options.Timeout.TotalSeconds),
                ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            Log.Unreachable(_logger, ex, masked);
            throw new OtpDeliveryException(
                string.Format(CultureInfo.InvariantCulture, "The SMS to {0} could not be delivered: Twilio could not be reached ({1}).", masked, ex is HttpRequestException { HttpRequestError: var error } ? error.ToString() : ex.GetType().Name),
                ex);
        }
    }

    private static HttpRequestMessage CreateRequest(TwilioSmsOptions options, string to, string body)
    {
        var accountSid = options.AccountSid!.Trim();
        var baseUrl = options.BaseUrl.AbsoluteUri.TrimEnd('/');
        var uri = new Uri($"{baseUrl}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Messages.json", UriKind.Absolute);

        var fields = new List<KeyValuePair<string, string>>(4) { new("To", to) };
        if (!string.IsNullOrWhiteSpace(options.From))
        {
            fields.Add(new("From", options.From.Trim()));
        }

        if (!string.IsNullOrWhiteSpace(options.MessagingServiceSid))
        {
            fields.Add(new("MessagingServiceSid", options.MessagingServiceSid.Trim()));
        }

        fields.Add(new("Body", body));

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{options.AuthToken}"));
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new FormUrlEncodedContent(fields),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    // Reads one top-level property of a JSON body as text, or null when the body is not JSON.
    private static async Task<string?> ReadStringPropertyAsync(HttpResponseMessage response, string property, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxErrorBodyBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            try
            {
                using var json = JsonDocument.Parse(buffer.AsMemory(0, length));
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(property, out var value))
                {
                    return value.ValueKind switch
                    {
                        JsonValueKind.Number => value.GetRawText(),
                        JsonValueKind.String => value.GetString(),
                        _ => null,
                    };
                }
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's HTML page, a cut body): report the status alone.
            }

            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1411, EventName = "TwilioSmsAccepted", Level = LogLevel.Information, Message = "SMS code to {MaskedAddress} accepted by Twilio (HTTP {StatusCode}, message {MessageSid}).")]
        public static partial void Sent(ILogger logger, string maskedAddress, int statusCode, string messageSid);

        [LoggerMessage(EventId = 1412, EventName = "TwilioSmsRejected", Level = LogLevel.Warning, Message = "SMS code to {MaskedAddress} refused by Twilio: HTTP {StatusCode}, Twilio error {TwilioErrorCode}.")]
        public static partial void Rejected(ILogger logger, string maskedAddress, int statusCode, string twilioErrorCode);

        [LoggerMessage(EventId = 1413, EventName = "TwilioSmsTimedOut", Level = LogLevel.Warning, Message = "SMS code to {MaskedAddress}: Twilio did not answer within {TimeoutSeconds} s.")]
        public static partial void TimedOut(ILogger logger, string maskedAddress, double timeoutSeconds);

        [LoggerMessage(EventId = 1414, EventName = "TwilioSmsUnreachable", Level = LogLevel.Warning, Message = "SMS code to {MaskedAddress}: Twilio could not be reached.")]
        public static partial void Unreachable(ILogger logger, Exception exception, string maskedAddress);
    }
}
