using Microsoft.Extensions.Logging;

namespace OtpVerification.Senders;

/// <summary>A message kept by the development outbox.</summary>
/// <param name="To">The address.</param>
/// <param name="Channel">"email" or "sms".</param>
/// <param name="Purpose">"signup", "password_reset" or "sign_in".</param>
/// <param name="Subject">The subject.</param>
/// <param name="Body">The plain-text body, code included.</param>
/// <param name="SentAt">When it was sent.</param>
public sealed record DevOutboxMessage(string To, string Channel, string Purpose, string Subject, string Body, DateTimeOffset SentAt)
{
    /// <summary>
    /// The HTML part of an email (the alternative to <see cref="Body"/>); <see langword="null"/> for
    /// an SMS. Kept in memory for tests and tools; not listed by <c>GET /dev/outbox</c>, whose
    /// members the HTTP contract fixes.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Html { get; init; }

    /// <summary>The language the message was written in (e.g. <c>es</c>); not listed by <c>GET /dev/outbox</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Culture { get; init; }
}

/// <summary>
/// The development outbox: keeps the last messages in memory (bounded) and writes each to the
/// console, so codes can be read while developing. Never use it in production: it is the one
/// place besides the real message where a code appears.
/// </summary>
public sealed class DevOutbox
{
    /// <summary>How many messages are kept; older ones are dropped.</summary>
    public const int Capacity = 500;

    private readonly LinkedList<DevOutboxMessage> _messages = new();
    private readonly Lock _lock = new();

    /// <summary>Whether to write each message to standard output (default <see langword="true"/>).</summary>
    public bool WriteToConsole { get; set; } = true;

    /// <summary>Adds a message.</summary>
    /// <param name="message">The message.</param>
    public void Add(DevOutboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            _messages.AddFirst(message);
            if (_messages.Count > Capacity)
            {
                _messages.RemoveLast();
            }
        }

        if (WriteToConsole)
        {
            // Deliberately the console, not ILogger: the code must never reach a log sink.
            Console.Out.WriteLine($"[dev-outbox] to={message.To} channel={message.Channel} purpose={message.Purpose} subject=\"{message.Subject}\"\n{message.Body}");
        }
    }

    /// <summary>Lists messages, newest first, optionally only those to one address.</summary>
    /// <param name="to">An address (normalised before comparison), or <see langword="null"/> for all.</param>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<DevOutboxMessage> List(string? to = null)
    {
        string? wanted = null;
        if (!string.IsNullOrWhiteSpace(to))
        {
            wanted = OtpAddress.TryNormalizeEmail(to, out var email) ? email
                : OtpAddress.TryNormalizePhone(to, out var phone) ? phone
                : to.Trim();
        }

        lock (_lock)
        {
            return _messages.Where(m => wanted is null || string.Equals(m.To, wanted, StringComparison.Ordinal)).ToArray();
        }
    }

    /// <summary>Removes every message.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }
}

/// <summary>A sender that delivers to the <see cref="DevOutbox"/>, for one channel.</summary>
public sealed partial class DevOutboxSender : IOtpSender
{
    private readonly DevOutbox _outbox;
    private readonly IOtpMessageFormatter _formatter;
    private readonly ILogger<DevOutboxSender> _logger;

    /// <summary>Creates a sender for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="outbox">The outbox.</param>
    /// <param name="formatter">The message formatter.</param>
    /// <param name="logger">The logger.</param>
    public DevOutboxSender(OtpChannel channel, DevOutbox outbox, IOtpMessageFormatter formatter, ILogger<DevOutboxSender> logger)
    {
        Channel = channel;
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _formatter = formatter ?? throw new ArgumentNullException(nameof(formatter));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <inheritdoc />
    public OtpChannel Channel { get; }

    /// <summary>
    /// The development outbox sender for <paramref name="channel"/>, or <see langword="null"/>
    /// outside the Development environment: a code must never go to a console or a page in
    /// production. Where no host environment is registered (a bare service collection), the
    /// outbox is used.
    /// </summary>
    /// <param name="services">The service provider.</param>
    /// <param name="channel">The channel.</param>
    /// <returns>The sender, or <see langword="null"/> when it must not exist here.</returns>
    public static DevOutboxSender? ForEnvironment(IServiceProvider services, OtpChannel channel)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService(typeof(Microsoft.Extensions.Hosting.IHostEnvironment)) is Microsoft.Extensions.Hosting.IHostEnvironment environment
            && !string.Equals(environment.EnvironmentName, "Development", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return new DevOutboxSender(
            channel,
            (DevOutbox)services.GetService(typeof(DevOutbox))!,
            (IOtpMessageFormatter)services.GetService(typeof(IOtpMessageFormatter))!,
            (ILogger<DevOutboxSender>)services.GetService(typeof(ILogger<DevOutboxSender>))!);
    }

    /// <inheritdoc />
    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var formatted = _formatter.Format(message);
        _outbox.Add(new DevOutboxMessage(
            message.To,
            OtpNames.Channel(message.Channel),
            OtpNames.Purpose(message.Purpose),
            formatted.Subject,
            formatted.TextBody,
            message.SentAt)
        {
            Html = formatted.HtmlBody,
            Culture = message.Culture.Name,
        });
        Log.Delivered(_logger, OtpNames.Channel(message.Channel), OtpAddress.Mask(message.To));
        return ValueTask.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, EventName = "DevOutboxDelivered", Level = LogLevel.Information, Message = "Development outbox: {Channel} message to {MaskedAddress} (read it at /dev/outbox).")]
        public static partial void Delivered(ILogger logger, string channel, string maskedAddress);
    }
}

/// <summary>The wire names of purposes and channels.</summary>
public static class OtpNames
{
    /// <summary>The wire name of a channel: <c>email</c> or <c>sms</c>.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns>The name.</returns>
    public static string Channel(OtpChannel channel) => channel == OtpChannel.Sms ? "sms" : "email";

    /// <summary>The wire name of a purpose: <c>signup</c>, <c>password_reset</c>, <c>sign_in</c> or <c>phone_verification</c>.</summary>
    /// <param name="purpose">The purpose.</param>
    /// <returns>The name.</returns>
    public static string Purpose(OtpPurpose purpose) => purpose switch
    {
        OtpPurpose.PasswordReset => "password_reset",
        OtpPurpose.SignIn => "sign_in",
        OtpPurpose.PhoneVerification => "phone_verification",
        _ => "signup",
    };
}
