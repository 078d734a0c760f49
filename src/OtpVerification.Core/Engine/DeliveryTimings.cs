using System.Security.Cryptography;

namespace OtpVerification;

/// <summary>
/// Recent delivery durations per purpose, operation (start or resend) and channel, so a start or
/// resend that sends nothing (a registered address, with enumeration protection) can take as long
/// as one that does. A suppressed one waits until its elapsed time matches a duration drawn at
/// random from the recent real ones of the same kind.
/// </summary>
internal sealed class DeliveryTimings
{
    private const int Samples = 64;
    private const int LatenessSamples = 31;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxGuard = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MinLateness = TimeSpan.FromMilliseconds(-1);
    private static readonly TimeSpan MaxLateness = TimeSpan.FromMilliseconds(5);
    private static readonly int Channels = Enum.GetValues<OtpChannel>().Length;
    private static readonly int Kinds = Enum.GetValues<OtpPurpose>().Length * 2 * Channels;

    private readonly TimeSpan[][] _samples;
    private readonly int[] _counts;
    private readonly int[] _next;
    private readonly Lock _lock = new();
    private readonly TimeSpan[] _lateness = new TimeSpan[LatenessSamples];
    private int _latenessCount;
    private int _latenessNext;
    private TimeSpan _guard;

    public DeliveryTimings()
    {
        _samples = new TimeSpan[Kinds][];
        for (var i = 0; i < Kinds; i++)
        {
            _samples[i] = new TimeSpan[Samples];
        }

        _counts = new int[Kinds];
        _next = new int[Kinds];
    }

    public void Record(OtpPurpose purpose, bool resend, OtpChannel channel, TimeSpan elapsed)
    {
        var c = Kind(purpose, resend, channel);
        lock (_lock)
        {
            _samples[c][_next[c]] = elapsed;
            _next[c] = (_next[c] + 1) % Samples;
            _counts[c] = Math.Min(_counts[c] + 1, Samples);
        }
    }

    public async ValueTask WaitLikeADeliveryAsync(OtpPurpose purpose, bool resend, OtpChannel channel, long startedTimestamp, TimeProvider time)
    {
        var c = Kind(purpose, resend, channel);
        TimeSpan target;
        TimeSpan guard;
        lock (_lock)
        {
            if (_counts[c] == 0)
            {
                return;
            }

            target = _samples[c][RandomNumberGenerator.GetInt32(_counts[c])];
            guard = _guard;
        }

        if (target > MaxWait)
        {
            target = MaxWait;
        }

        var remaining = target - time.GetElapsedTime(startedTimestamp);
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        // A timer wakes a task late (by a millisecond or two, more on a busy machine), and the
        // recorded deliveries already include their own such lateness: a delay of exactly the
        // remaining time would make these answers measurably slower than real ones. So the timer
        // is asked to wake a guard before the target: the 90th percentile of its recent lateness,
        // at most 5 ms. No thread is ever blocked: the wait is the TimeProvider's timer alone.
        var wait = remaining - guard;
        if (wait < TimeSpan.FromMilliseconds(1))
        {
            return;
        }

        var before = time.GetTimestamp();
        await Task.Delay(wait, time).ConfigureAwait(false);
        Learn(time.GetElapsedTime(before) - wait);
    }

    private static int Kind(OtpPurpose purpose, bool resend, OtpChannel channel)
        => ((((int)purpose * 2) + (resend ? 1 : 0)) * Channels) + (int)channel;

    /// <summary>Keeps one observed timer lateness and updates the guard: the 90th percentile of the recent ones, at most <see cref="MaxGuard"/>.</summary>
    private void Learn(TimeSpan observed)
    {
        if (observed < MinLateness)
        {
            observed = MinLateness;
        }
        else if (observed > MaxLateness)
        {
            observed = MaxLateness;
        }

        lock (_lock)
        {
            _lateness[_latenessNext] = observed;
            _latenessNext = (_latenessNext + 1) % LatenessSamples;
            _latenessCount = Math.Min(_latenessCount + 1, LatenessSamples);
            var recent = _lateness[.._latenessCount];
            Array.Sort(recent);
            var guard = recent[_latenessCount * 9 / 10] + TimeSpan.FromMilliseconds(0.1);
            _guard = guard < TimeSpan.Zero ? TimeSpan.Zero : guard > MaxGuard ? MaxGuard : guard;
        }
    }
}
