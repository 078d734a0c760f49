using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OtpVerification.Testing;

/// <summary>One captured log entry: the formatted line, the structured values and the exception text.</summary>
/// <param name="Category">The logger category.</param>
/// <param name="Level">The level.</param>
/// <param name="EventId">The event id.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Values">The structured state as text (<c>key=value</c>).</param>
/// <param name="Exception">The exception's <see cref="Exception.ToString"/>, if any.</param>
public sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<string> Values, string? Exception)
{
    /// <summary>Everything in the entry as one string, for "never contains" assertions.</summary>
    /// <returns>The text.</returns>
    public string AllText() => string.Join('\n', [Category, Message, .. Values, Exception ?? string.Empty]);
}

/// <summary>An <see cref="ILoggerProvider"/> that keeps every entry at every level, scopes' values included. Thread-safe.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    /// <summary>The entries so far, oldest first.</summary>
    public IReadOnlyList<CapturedLog> Entries => _entries.ToArray();

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            entries.Enqueue(new CapturedLog(category, LogLevel.None, default, "(scope) " + state, Values(state), null));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), Values(state), exception?.ToString()));
        }

        private static string[] Values<TState>(TState state)
            => state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.Select(p => $"{p.Key}={p.Value}").ToArray() : [];
    }
}
