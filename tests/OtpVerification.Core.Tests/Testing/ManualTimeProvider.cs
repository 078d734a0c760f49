using System.Globalization;

namespace OtpVerification.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose wall clock moves only when a test moves it. Thread-safe.
/// Only <see cref="GetUtcNow"/> is manual: timers and timestamps are the system's, so nothing
/// that waits on a timer hangs, and nothing here fires timers when the clock is advanced.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>The time a provider starts at when none is given: 2030-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    private DateTimeOffset _now;

    /// <summary>Creates a provider at <see cref="DefaultStart"/>.</summary>
    public ManualTimeProvider()
        : this(DefaultStart)
    {
    }

    /// <summary>Creates a provider at <paramref name="start"/>.</summary>
    /// <param name="start">The initial time (converted to UTC).</param>
    public ManualTimeProvider(DateTimeOffset start) => _now = start.ToUniversalTime();

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <summary>Moves the clock forward.</summary>
    /// <param name="delta">How far; zero or more.</param>
    /// <returns>The new time.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is negative.</exception>
    public DateTimeOffset Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        lock (_lock)
        {
            _now += delta;
            return _now;
        }
    }

    /// <summary>Sets the clock to <paramref name="value"/>, which may be earlier than the current time.</summary>
    /// <param name="value">The new time (converted to UTC).</param>
    public void SetUtcNow(DateTimeOffset value)
    {
        lock (_lock)
        {
            _now = value.ToUniversalTime();
        }
    }

    /// <inheritdoc />
    public override string ToString() => GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
}
