using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OtpVerification.Sample.Data;
using OtpVerification.Senders;
using OtpVerification.Testing;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.AspNetCore.Tests.Hosting;

/// <summary>
/// Hosts the sample app in memory for endpoint tests: the Development environment (unless changed),
/// a SQLite user database in a fresh temporary file, a <see cref="FakeTimeProvider"/> (at the real current time, whole seconds) in place of the
/// <see cref="TimeProvider"/>, a quiet development outbox, an ephemeral Data Protection key ring
/// (the sample's persisted one when <c>DataProtection:KeysPath</c> is set), and configuration overrides. Settings and services must be set before the first client is
/// created. Disposing it deletes the database file.
/// </summary>
public partial class SampleAppFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Action<IServiceCollection>> _serviceOverrides = [];
    private readonly Lazy<HttpClient> _outboxClient;
    private string _environment = "Development";
    private bool _built;

    /// <summary>Creates a factory with the sample's defaults and its own database file.</summary>
    public SampleAppFactory()
    {
        DatabasePath = Path.Combine(Path.GetTempPath(), $"otp-webtests-{Guid.NewGuid():N}.db");
        ConnectionString = $"Data Source={DatabasePath}";
        _settings["ConnectionStrings:Users"] = ConnectionString;
        _settings["Logging:LogLevel:Default"] = "Warning";
        _settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        _outboxClient = new Lazy<HttpClient>(() => CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false }));
    }

    /// <summary>The clock the app runs on.</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()));

    /// <summary>The SQLite user database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The connection string given as <c>ConnectionStrings:Users</c>.</summary>
    public string ConnectionString { get; }

    /// <summary>Every log entry of the app, at every level, once <see cref="WithLogCapture"/> was called.</summary>
    public LogCapture? Logs { get; private set; }

    /// <summary>Sends every log entry, at every level, to <see cref="Logs"/> instead of the console.</summary>
    /// <returns>This factory.</returns>
    public SampleAppFactory WithLogCapture()
    {
        EnsureNotBuilt();
        Logs = new LogCapture();
        _settings["Logging:LogLevel:Default"] = "Trace";
        _settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        return this;
    }

    /// <summary>Overrides a configuration key (e.g. <c>OtpSignup:RevealExistingAccounts</c>).</summary>
    /// <param name="key">The key, <c>:</c>-separated.</param>
    /// <param name="value">The value.</param>
    /// <returns>This factory.</returns>
    public SampleAppFactory WithSetting(string key, string? value)
    {
        EnsureNotBuilt();
        _settings[key] = value;
        return this;
    }

    /// <summary>Runs the app in another environment (e.g. <c>Production</c>).</summary>
    /// <param name="environment">The environment name.</param>
    /// <returns>This factory.</returns>
    public SampleAppFactory WithEnvironment(string environment)
    {
        EnsureNotBuilt();
        _environment = environment;
        return this;
    }

    /// <summary>Changes the app's services after the app registered its own (replace a store, add a sender).</summary>
    /// <param name="configure">The change.</param>
    /// <returns>This factory.</returns>
    public SampleAppFactory WithServices(Action<IServiceCollection> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        EnsureNotBuilt();
        _serviceOverrides.Add(configure);
        return this;
    }

    /// <summary>Reads <c>GET /dev/outbox?to=…</c> as a client would: newest first.</summary>
    /// <param name="to">The address.</param>
    /// <returns>The messages.</returns>
    public async Task<IReadOnlyList<OutboxMessage>> ReadOutboxAsync(string to)
    {
        // Reset and sign-in answer before their message goes out: wait for it as a mailbox would.
        await Services.GetRequiredService<OtpEngine>().WhenDeliveredAsync();
        var response = await _outboxClient.Value.GetAsync(new Uri("/dev/outbox?to=" + Uri.EscapeDataString(to), UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<List<OutboxMessage>>() ?? [];
    }

    /// <summary>The development outbox's messages to <paramref name="to"/>, newest first, with their HTML part and culture (which <c>GET /dev/outbox</c> does not list).</summary>
    /// <param name="to">The address.</param>
    /// <returns>The messages.</returns>
    public async Task<IReadOnlyList<DevOutboxMessage>> ReadOutboxMessagesAsync(string to)
    {
        await Services.GetRequiredService<OtpEngine>().WhenDeliveredAsync();
        return Services.GetRequiredService<DevOutbox>().List(to);
    }

    /// <summary>The code in the newest outbox message to <paramref name="to"/> for <paramref name="purpose"/>.</summary>
    /// <param name="to">The address (email or phone).</param>
    /// <param name="purpose"><c>signup</c> or <c>password_reset</c>.</param>
    /// <returns>The code.</returns>
    /// <exception cref="InvalidOperationException">No such message, or no code in it.</exception>
    public async Task<string> ReadCodeAsync(string to, string purpose = "signup")
    {
        var message = (await ReadOutboxAsync(to)).FirstOrDefault(m => m.Purpose == purpose)
            ?? throw new InvalidOperationException($"No {purpose} message to {to} in the outbox.");
        var match = CodePattern().Match(message.Body);
        return match.Success ? match.Value : throw new InvalidOperationException($"No code in the {purpose} message to {to}.");
    }

    /// <summary>Counts the rows of the user table.</summary>
    /// <returns>The count.</returns>
    public async Task<int> CountUsersAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users.CountAsync();
    }

    /// <summary>Counts the users with this (normalised) email.</summary>
    /// <param name="email">The email.</param>
    /// <returns>The count.</returns>
    public async Task<int> CountUsersAsync(string email)
    {
        var normalized = email.Trim().ToUpperInvariant();
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users.CountAsync(u => u.NormalizedEmail == normalized);
    }

    /// <summary>Registers a user directly through <see cref="UserManager{TUser}"/>, bypassing signup.</summary>
    /// <param name="email">The email.</param>
    /// <param name="password">The password.</param>
    /// <returns>A task.</returns>
    public async Task CreateUserAsync(string email, string password)
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var result = await users.CreateAsync(new AppUser { UserName = email, Email = email, EmailConfirmed = true }, password);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException("Creating the user failed: " + string.Join(", ", result.Errors.Select(e => e.Code)));
        }
    }

    /// <summary>The lockout state of the user with this user name, as Identity reads it.</summary>
    /// <param name="userName">The user name (the email).</param>
    /// <returns>The failed-attempt count, whether the user is locked out now, and the lockout end.</returns>
    public async Task<(int Count, bool LockedOut, DateTimeOffset? End)> LockoutStateAsync(string userName)
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var user = await users.FindByNameAsync(userName) ?? throw new InvalidOperationException($"No user {userName}.");
        return (await users.GetAccessFailedCountAsync(user), await users.IsLockedOutAsync(user), await users.GetLockoutEndDateAsync(user));
    }

    /// <summary>Sets the lockout end of the user with this user name through <see cref="UserManager{TUser}"/>.</summary>
    /// <param name="userName">The user name (the email).</param>
    /// <param name="end">The lockout end.</param>
    /// <returns>A task.</returns>
    public async Task SetLockoutEndAsync(string userName, DateTimeOffset end)
    {
        await using var scope = Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
        var user = await users.FindByNameAsync(userName) ?? throw new InvalidOperationException($"No user {userName}.");
        var result = await users.SetLockoutEndDateAsync(user, end);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException("Setting the lockout end failed: " + string.Join(", ", result.Errors.Select(e => e.Code)));
        }
    }

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _built = true;
        var settings = new Dictionary<string, string?>(_settings, StringComparer.OrdinalIgnoreCase);
        builder.UseEnvironment(_environment);
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(settings));
        if (Logs is { } logs)
        {
            builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(logs));
        }

        builder.ConfigureTestServices(services =>
        {
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock));
            services.Replace(ServiceDescriptor.Singleton(new DevOutbox { WriteToConsole = false }));
            if (!settings.TryGetValue("DataProtection:KeysPath", out var keysPath) || string.IsNullOrEmpty(keysPath))
            {
                // With DataProtection:KeysPath set, the sample's persisted key ring is used (instances sharing a ring).
                services.AddDataProtection().UseEphemeralDataProtectionProvider();
            }

            foreach (var configure in _serviceOverrides)
            {
                configure(services);
            }
        });
    }

    /// <inheritdoc />
    protected override IHost CreateHost(IHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The sample reads DataProtection:KeysPath before Build(), when ConfigureAppConfiguration
        // overrides are not applied yet (dotnet/aspnetcore#37680); host configuration is.
        if (_settings.TryGetValue("DataProtection:KeysPath", out var keysPath) && !string.IsNullOrEmpty(keysPath))
        {
            builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DataProtection:KeysPath"] = keysPath }));
        }

        return base.CreateHost(builder);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        DeleteDatabase();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            DeleteDatabase();
        }
    }

    [GeneratedRegex(@"\b\d{4,10}\b")]
    private static partial Regex CodePattern();

    private void DeleteDatabase()
    {
        if (_outboxClient.IsValueCreated)
        {
            _outboxClient.Value.Dispose();
        }

        using (var connection = new SqliteConnection(ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        foreach (var path in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm", DatabasePath + "-journal" })
        {
            File.Delete(path);
        }
    }

    private void EnsureNotBuilt()
    {
        if (_built)
        {
            throw new InvalidOperationException("Configure the factory before the first client is created.");
        }
    }
}

/// <summary>A message as listed by <c>GET /dev/outbox</c>.</summary>
/// <param name="To">The address.</param>
/// <param name="Channel"><c>email</c> or <c>sms</c>.</param>
/// <param name="Purpose"><c>signup</c> or <c>password_reset</c>.</param>
/// <param name="Subject">The subject.</param>
/// <param name="Body">The body, code included.</param>
/// <param name="SentAt">When it was sent.</param>
public sealed record OutboxMessage(string To, string Channel, string Purpose, string Subject, string Body, DateTimeOffset SentAt);

/// <summary>The sample with <c>OtpSignup:RevealExistingAccounts=true</c>.</summary>
public sealed class RevealingSampleAppFactory : SampleAppFactory
{
    /// <summary>Creates the factory.</summary>
    public RevealingSampleAppFactory() => WithSetting("OtpSignup:RevealExistingAccounts", "true");
}
