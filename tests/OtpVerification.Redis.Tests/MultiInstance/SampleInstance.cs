using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using OtpVerification.Senders;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// One instance of the sample app (Development), configured only through its own settings: the
/// Redis store, the shared Data Protection key directory, the shared code hash key and the shared
/// SQLite user file. Unlike <see cref="SampleAppFactory"/> it keeps the app's real clock and its
/// real (file-based) Data Protection key ring, which is what instances behind a load balancer share.
/// </summary>
public sealed partial class SampleInstance : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Lazy<HttpClient> _outboxClient;
    private readonly LogCapture? _logs;
    private readonly Action<IServiceCollection>? _configureServices;

    /// <summary>Creates an instance; the host starts with the first client.</summary>
    /// <param name="name">A readable name (A, B) for assertion messages.</param>
    /// <param name="settings">The configuration overrides.</param>
    public SampleInstance(string name, IReadOnlyDictionary<string, string?> settings)
        : this(name, settings, logs: null, configureServices: null)
    {
    }

    /// <summary>Creates an instance that logs to <paramref name="logs"/> and has its services changed by <paramref name="configureServices"/>.</summary>
    /// <param name="name">A readable name (A, B) for assertion messages.</param>
    /// <param name="settings">The configuration overrides.</param>
    /// <param name="logs">Receives every log entry instead of the console; null: the app's own logging.</param>
    /// <param name="configureServices">Changes the app's services after the app registered its own, as the app's own code would (an <c>IConnectionMultiplexer</c>); or null.</param>
    public SampleInstance(string name, IReadOnlyDictionary<string, string?> settings, LogCapture? logs, Action<IServiceCollection>? configureServices)
    {
        Name = name;
        _settings = settings;
        _logs = logs;
        _configureServices = configureServices;
        _outboxClient = new Lazy<HttpClient>(() => CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false }));
    }

    /// <summary>The instance's readable name.</summary>
    public string Name { get; }

    /// <summary>The code in the newest signup message this instance sent to <paramref name="to"/> (its own dev outbox).</summary>
    /// <param name="to">The address.</param>
    /// <returns>The code.</returns>
    public async Task<string> ReadCodeAsync(string to)
    {
        var message = (await ReadOutboxAsync(to)).FirstOrDefault(m => m.Purpose == "signup")
            ?? throw new InvalidOperationException($"Instance {Name} sent no signup message to {to}.");
        var match = CodePattern().Match(message.Body);
        return match.Success ? match.Value : throw new InvalidOperationException($"No code in the message to {to}.");
    }

    /// <summary>Reads this instance's <c>GET /dev/outbox?to=…</c>, newest first.</summary>
    /// <param name="to">The address.</param>
    /// <returns>The messages.</returns>
    public async Task<IReadOnlyList<OutboxMessage>> ReadOutboxAsync(string to)
    {
        var response = await _outboxClient.Value.GetAsync(new Uri("/dev/outbox?to=" + Uri.EscapeDataString(to), UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<List<OutboxMessage>>() ?? [];
    }

    /// <summary>Counts the user rows in the (shared) SQLite file, through this instance's DbContext.</summary>
    /// <returns>The count.</returns>
    public async Task<int> CountUsersAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users.CountAsync();
    }

    /// <summary>Counts the users with this email.</summary>
    /// <param name="email">The email.</param>
    /// <returns>The count.</returns>
    public async Task<int> CountUsersAsync(string email)
    {
        var normalized = email.Trim().ToUpperInvariant();
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users.CountAsync(u => u.NormalizedEmail == normalized);
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Development");

        // Host settings, not ConfigureAppConfiguration: the sample reads OtpSignup:Store and
        // DataProtection:KeysPath while registering services, before app configuration sources
        // added by the factory are applied.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_logs is { } logs)
        {
            builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(logs));
        }

        builder.ConfigureTestServices(services =>
        {
            services.Replace(ServiceDescriptor.Singleton(new DevOutbox { WriteToConsole = false }));
            _configureServices?.Invoke(services);
        });
    }

    [GeneratedRegex(@"\b\d{4,10}\b")]
    private static partial Regex CodePattern();
}
