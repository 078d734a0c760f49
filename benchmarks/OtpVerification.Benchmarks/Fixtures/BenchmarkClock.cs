namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>
/// Wall-clock time plus an offset the benchmark can move forward, so a recycled address is past its
/// cooldown and hourly window again. Timestamps (elapsed-time measurement) stay real.
/// </summary>
internal sealed class BenchmarkClock : TimeProvider
{
    private TimeSpan _offset;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;

    public void Advance(TimeSpan by) => _offset += by;
}
