namespace OtpVerification.AspNetCore.Tests.Hosting;

/// <summary>
/// A manual <see cref="TimeProvider"/>: time stands still until a test moves it with
/// <see cref="Advance"/>. Starts at the real current time (whole seconds) so tokens, cookies and
/// database timestamps look ordinary.
/// </summary>
public sealed class TestClock : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now;

    /// <summary>Creates a clock at the current real time, truncated to whole seconds.</summary>
    public TestClock()
        : this(DateTimeOffset.FromUnixTimeSeconds(System.GetUtcNow().ToUnixTimeSeconds()))
    {
    }

    /// <summary>Creates a clock at <paramref name="start"/>.</summary>
    /// <param name="start">The initial time.</param>
    public TestClock(DateTimeOffset start) => _now = start;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <summary>Moves the clock forward.</summary>
    /// <param name="by">How far; must not be negative.</param>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        lock (_lock)
        {
            _now += by;
        }
    }
}
