using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// Two instances of the sample app behind an imaginary load balancer: one redis-server, one code
/// hash key, one Data Protection key directory and one SQLite user file, all shared; everything
/// else (DI container, Redis connection, dev outbox, HttpClient) is each instance's own.
/// The key directory and the user file live in a fresh temporary directory, deleted on dispose.
/// </summary>
public sealed class TwoInstances : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _usersConnectionString;

    private TwoInstances(IRedisTarget redis, IReadOnlyDictionary<string, string?>? overrides, Action<IServiceCollection>? configureServices)
    {
        _directory = Path.Combine(Path.GetTempPath(), "otp-multi-" + Guid.NewGuid().ToString("N"));
        var keysPath = Path.Combine(_directory, "keys");
        Directory.CreateDirectory(keysPath);
        _usersConnectionString = $"Data Source={Path.Combine(_directory, "users.db")}";

        // The key ring exists before either instance starts, as in a deployment: otherwise both
        // could create a first key at the same moment and each start with only its own.
        DataProtectionProvider.Create(new DirectoryInfo(keysPath), b => b.SetApplicationName("OtpVerification.Sample"))
            .CreateProtector("warm-up").Protect("key ring");

        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["OtpSignup:Store"] = "Redis",
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["ConnectionStrings:Users"] = _usersConnectionString,
            ["DataProtection:KeysPath"] = keysPath,
            ["OtpSignup:Code:HashKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        A = new SampleInstance("A", settings, logs: null, configureServices);
        B = new SampleInstance("B", settings, logs: null, configureServices);
    }

    /// <summary>The first instance.</summary>
    public SampleInstance A { get; }

    /// <summary>The second instance.</summary>
    public SampleInstance B { get; }

    /// <summary>A's client.</summary>
    public HttpClient ClientA { get; private set; } = null!;

    /// <summary>B's client.</summary>
    public HttpClient ClientB { get; private set; } = null!;

    /// <summary>Starts both instances, A first (it creates the user database), then B.</summary>
    /// <param name="redis">The shared server.</param>
    /// <param name="overrides">More settings, the same for both instances.</param>
    /// <param name="configureServices">Services each instance registers as the app's own (an <c>IConnectionMultiplexer</c>).</param>
    /// <returns>The running pair.</returns>
    public static TwoInstances Start(IRedisTarget redis, IReadOnlyDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var pair = new TwoInstances(redis, overrides, configureServices);
        pair.ClientA = pair.A.CreateClient();
        pair.ClientB = pair.B.CreateClient();
        return pair;
    }

    /// <summary>The instance and client for request number <paramref name="i"/>: even to A, odd to B.</summary>
    /// <param name="i">The request number.</param>
    /// <returns>The instance and its client.</returns>
    public (SampleInstance Instance, HttpClient Client) Pick(int i) => i % 2 == 0 ? (A, ClientA) : (B, ClientB);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        using (var connection = new SqliteConnection(_usersConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
