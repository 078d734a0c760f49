namespace OtpVerification.Diagnostics;

/// <summary>
/// Counts events (evictions, refusals) and says when to write the one log line that reports them:
/// the first event at once, then at most once per <see cref="Interval"/>, with the number of events
/// since the last line. A flood thus writes a line a minute, not one per event; the metrics carry
/// the exact counts. Thread-safe.
/// </summary>
internal sealed class RateLimitedReport
{
    /// <summary>The least time between two lines.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private long _pending;
    private long _lastTicks = long.MinValue;

    /// <summary>Counts <paramref name="events"/> and tells whether a line is due, with how many events it reports.</summary>
    /// <param name="events">Events that just happened.</param>
    /// <param name="now">The current time.</param>
    /// <param name="report">The events to report when a line is due.</param>
    /// <returns><see langword="true"/> when the caller should write a line now.</returns>
    public bool Add(long events, DateTimeOffset now, out long report)
    {
        Interlocked.Add(ref _pending, events);
        var nowTicks = now.UtcTicks;
        var last = Volatile.Read(ref _lastTicks);
        if ((last != long.MinValue && nowTicks - last < Interval.Ticks)
            || Interlocked.CompareExchange(ref _lastTicks, nowTicks, last) != last)
        {
            report = 0;
            return false;
        }

        report = Interlocked.Exchange(ref _pending, 0);
        return report > 0;
    }
}
