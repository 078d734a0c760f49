using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Infrastructure;

/// <summary>Builds messages and service providers for the sender tests.</summary>
internal static class SenderTestKit
{
    public static OtpMessage Message(string? to = null, string appName = "Contoso") => new()
    {
        To = to ?? UniqueEmail(),
        Channel = OtpChannel.Email,
        Purpose = OtpPurpose.Signup,
        Code = UniqueCode(),
        ExpiresIn = TimeSpan.FromMinutes(10),
        SentAt = DateTimeOffset.UnixEpoch,
        Culture = CultureInfo.GetCultureInfo("en-US"),
        AppName = appName,
    };

    // Distinct per test so that an assertion can never match another test's message.
    public static string UniqueCode() => RandomNumberGenerator.GetInt32(100_000, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);

    public static string UniqueEmail() => $"user-{Guid.NewGuid():N}@example.test";

    public static ServiceProvider BuildServices(Action<OtpVerificationBuilder> configure, CapturingLoggerProvider? logs = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        configure(services.AddOtpVerification());
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    // The engine uses the sender registered last for a channel.
    public static IOtpSender EmailSender(IServiceProvider services)
        => services.GetServices<IOtpSender>().Last(s => s.Channel == OtpChannel.Email);
}

/// <summary>Keeps every formatted log line, its structured values and exception text, to prove what never reaches a log.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    public string AllText => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"))
                : string.Empty;
            owner._lines.Enqueue($"{logLevel} {category} [{eventId.Name}] {formatter(state, exception)} {structured} {exception}");
        }
    }
}
