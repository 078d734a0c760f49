using System.Diagnostics;
using System.Security.Cryptography;

namespace OtpVerification;

/// <summary>
/// Recent delivery durations per channel, so a start that sends nothing (a registered address,
/// with enumeration protection) can take as long as one that does. A suppressed start waits until
/// its elapsed time matches a duration drawn at random from the recent real ones.
/// </summary>
internal sealed class DeliveryTimings
{
    private const int Samples = 64;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    private readonly TimeSpan[][] _samples;
    private readonly int[] _counts;
    private readonly int[] _next;
    private readonly Lock _lock = new();

    public DeliveryTimings()
    {
        var channels = Enum.GetValues<OtpChannel>().Length;
        _samples = new TimeSpan[channels][];
        for (var i = 0; i < channels; i++)
        {
            _samples[i] = new TimeSpan[Samples];
        }

        _counts = new int[channels];
        _next = new int[channels];
    }

    public void Record(OtpChannel channel, TimeSpan elapsed)
    {
        var c = (int)channel;
        lock (_lock)
        {
            _samples[c][_next[c]] = elapsed;
            _next[c] = (_next[c] + 1) % Samples;
            _counts[c] = Math.Min(_counts[c] + 1, Samples);
        }
    }

    public async ValueTask WaitLikeADeliveryAsync(OtpChannel channel, long startedTimestamp, TimeProvider time)
    {
        var c = (int)channel;
        TimeSpan target;
        lock (_lock)
        {
            if (_counts[c] == 0)
            {
                return;
            }

            target = _samples[c][RandomNumberGenerator.GetInt32(_counts[c])];
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

        if (remaining >= TimeSpan.FromMilliseconds(2))
        {
            await Task.Delay(remaining, time).ConfigureAwait(false);
            return;
        }

        // Timers cannot wait less than a millisecond or so; spin for the short remainders.
        var spinner = default(SpinWait);
        var until = Stopwatch.GetTimestamp() + (long)(remaining.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
