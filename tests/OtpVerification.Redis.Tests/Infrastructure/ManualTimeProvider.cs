namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>A clock that moves only when told to. Timers are not supported (the stores need none).</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>A start deliberately not on a millisecond boundary: stores must keep ticks exact.</summary>
    public static readonly DateTimeOffset DefaultStart = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset? start = null) => _now = start ?? DefaultStart;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public void Set(DateTimeOffset now) => _now = now;
}
