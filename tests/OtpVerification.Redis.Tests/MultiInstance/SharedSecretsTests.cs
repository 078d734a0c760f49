using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// Issue 19 on a real redis-server: the sample on Redis (<c>OtpSignup:Store=Redis</c>) refuses to
/// start without <c>OtpSignup:Code:HashKey</c>, naming it, and warns at start-up when the Data
/// Protection key ring is not shared. Two instances that share the key and the ring verify each
/// other's codes: <see cref="MultiInstanceVerifyTests"/>.
/// </summary>
public sealed class SharedSecretsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IDisposable
{
    private const string KeyRingWarning = "[OtpKeyRingNotShared]";
    private const string ApplicationNameWarning = "[OtpApplicationNameNotSet]";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "otp-secrets-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Start_SampleOnRedisWithoutHashKey_RefusesToStartNamingTheKey()
    {
        await using var app = new SampleInstance("A", Settings(hashKey: null, keysPath: KeysPath()));

        var act = () => app.CreateClient();

        act.Should().Throw<Exception>().Which.ToString().Should()
            .Contain("OtpSignup:Code:HashKey is not set").And.Contain("RedisPendingRegistrationStore").And.Contain("openssl rand -base64 32");
    }

    [Fact]
    public async Task Start_SampleOnRedisWithHashKeyAndSharedKeyRing_StartsWithoutKeyRingWarnings()
    {
        var logs = new LogCapture();
        await using var app = new SampleInstance("A", Settings(NewKey(), KeysPath()), logs, configureServices: null);

        (await app.ReadOutboxAsync("nobody@example.com")).Should().BeEmpty();

        logs.Entries.Should().NotContain(e => e.Contains(KeyRingWarning, StringComparison.Ordinal) || e.Contains(ApplicationNameWarning, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_SampleOnRedisWithAKeyRingInMemoryOnly_WarnsNamingPersistKeysToAndSetApplicationName()
    {
        // No DataProtection:KeysPath, and an ephemeral ring rather than this machine's default directory (which a start would write to).
        var logs = new LogCapture();
        await using var app = new SampleInstance("A", Settings(NewKey(), keysPath: null), logs, services => services.AddDataProtection().UseEphemeralDataProtectionProvider());

        (await app.ReadOutboxAsync("nobody@example.com")).Should().BeEmpty();

        logs.Entries.Should().ContainSingle(e => e.Contains(KeyRingWarning, StringComparison.Ordinal))
            .Which.Should().StartWith("Warning").And.Contain("RedisPendingRegistrationStore").And.Contain("PersistKeysTo").And.Contain("SetApplicationName");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private string KeysPath()
    {
        var path = Path.Combine(_directory, "keys");
        Directory.CreateDirectory(path);
        return path;
    }

    private Dictionary<string, string?> Settings(string? hashKey, string? keysPath)
    {
        Directory.CreateDirectory(_directory);
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["OtpSignup:Store"] = "Redis",
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["ConnectionStrings:Users"] = $"Data Source={Path.Combine(_directory, "users.db")};Pooling=False",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (hashKey is not null)
        {
            settings["OtpSignup:Code:HashKey"] = hashKey;
        }

        if (keysPath is not null)
        {
            settings["DataProtection:KeysPath"] = keysPath;
        }

        return settings;
    }
}
