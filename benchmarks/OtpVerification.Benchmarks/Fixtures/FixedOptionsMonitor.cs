using Microsoft.Extensions.Options;

namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>An options monitor over one fixed value (the engine reads <see cref="CurrentValue"/> per call).</summary>
internal sealed class FixedOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
