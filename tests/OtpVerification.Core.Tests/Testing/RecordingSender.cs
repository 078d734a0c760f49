using OtpVerification.Senders;

namespace OtpVerification.Testing;

/// <summary>
/// An <see cref="IOtpSender"/> for tests: records every message it is asked to deliver and can
/// be told to fail. Thread-safe.
/// </summary>
public sealed class RecordingSender : IOtpSender
{
    private readonly Lock _lock = new();
    private readonly List<OtpMessage> _messages = [];
    private Func<OtpMessage, Exception>? _failure;
    private int _attempts;

    /// <summary>Creates a sender for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel it delivers on (email by default).</param>
    public RecordingSender(OtpChannel channel = OtpChannel.Email) => Channel = channel;

    /// <inheritdoc />
    public OtpChannel Channel { get; }

    /// <summary>The messages delivered so far, oldest first (failed attempts are not included).</summary>
    public IReadOnlyList<OtpMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return _messages.ToArray();
            }
        }
    }

    /// <summary>The number of calls to <see cref="SendAsync"/>, failed ones included.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>The code of the last delivered message.</summary>
    /// <exception cref="InvalidOperationException">Nothing was delivered.</exception>
    public string LastCode
    {
        get
        {
            lock (_lock)
            {
                return _messages.Count > 0 ? _messages[^1].Code : throw new InvalidOperationException("No message was delivered.");
            }
        }
    }

    /// <summary>Makes every later send throw <paramref name="exception"/> (an <see cref="OtpDeliveryException"/> when null).</summary>
    /// <param name="exception">The exception to throw.</param>
    public void FailWith(Exception? exception = null)
    {
        var failure = exception ?? new OtpDeliveryException("Delivery failed (test).");
        FailWith(_ => failure);
    }

    /// <summary>Makes every later send throw the exception <paramref name="failure"/> makes for the message.</summary>
    /// <param name="failure">Makes the exception; it sees the message, code included.</param>
    public void FailWith(Func<OtpMessage, Exception> failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        lock (_lock)
        {
            _failure = failure;
        }
    }

    /// <summary>Makes later sends succeed again.</summary>
    public void Succeed()
    {
        lock (_lock)
        {
            _failure = null;
        }
    }

    /// <summary>Forgets the recorded messages.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }

    /// <inheritdoc />
    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _attempts);
        lock (_lock)
        {
            if (_failure is not null)
            {
                return ValueTask.FromException(_failure(message));
            }

            _messages.Add(message);
        }

        return ValueTask.CompletedTask;
    }
}
