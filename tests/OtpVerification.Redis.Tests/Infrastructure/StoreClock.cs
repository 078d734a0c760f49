using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>Clocks for the store tests.</summary>
public static class StoreClock
{
    /// <summary>A start deliberately not on a millisecond boundary: stores must keep ticks exact.</summary>
    public static readonly DateTimeOffset Start = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    /// <summary>A manual clock at <see cref="Start"/>.</summary>
    /// <returns>The clock.</returns>
    public static FakeTimeProvider Create() => new(Start);
}
