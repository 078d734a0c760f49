using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Senders;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.DependencyInjection;

public sealed partial class RedisStoreRegistrationTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task AddRedisStore_ReplacesTheInMemoryStore()
    {
        await using var provider = Build(b => b.AddRedisStore(redis.ConnectionString));

        provider.GetRequiredService<IPendingRegistrationStore>().Should().BeOfType<RedisPendingRegistrationStore>();
    }

    [Fact]
    public async Task AddRedisStore_CalledTwice_RegistersOneStoreOneConnectionAndTheLastSettings()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification().AddRedisStore("127.0.0.1:1").AddRedisStore(redis.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        services.Count(d => d.ServiceType == typeof(IPendingRegistrationStore)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(RedisMultiplexerSource)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IValidateOptions<RedisStoreOptions>)).Should().Be(1);
        provider.GetRequiredService<IOptions<RedisStoreOptions>>().Value.Configuration.Should().Be(redis.ConnectionString);
        (await provider.GetRequiredService<IPendingRegistrationStore>().DeleteAsync(Registrations.NewKey())).Should().BeFalse();
    }

    [Fact]
    public async Task AddRedisStore_MissingConnectionString_FailsAtStartNamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([]).Build();
        await using var provider = Build(b => b.AddRedisStore(configuration.GetConnectionString("Redis")));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*ConnectionStrings:Redis is not set*");
    }

    [Fact]
    public async Task AddRedisStore_MalformedConnectionString_FailsAtStartNamingTheKeyAndProblemButNotThePassword()
    {
        await using var provider = Build(b => b.AddRedisStore("localhost:6379,password=hunter2,colour=blue"));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>()
            .WithMessage("*ConnectionStrings:Redis is not a valid StackExchange.Redis configuration string*colour*")
            .Which.Message.Should().NotContain("hunter2");
    }

    [Fact]
    public async Task AddRedisStore_KeyPrefixWithBrace_FailsAtStart()
    {
        await using var provider = Build(b => b.AddRedisStore(o =>
        {
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = "app{1}:";
        }));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*KeyPrefix*hash tag*");
    }

    [Fact]
    public async Task AddRedisStore_ValidOptions_PassStartValidation()
    {
        await using var provider = Build(b => b.AddRedisStore(redis.ConnectionString), o => o.Code.HashKey = Convert.ToBase64String(new byte[32]));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow();
    }

    [Fact]
    public async Task AddRedisStore_WithoutHashKey_FailsAtStartNamingTheKey()
    {
        await using var provider = Build(b => b.AddRedisStore(redis.ConnectionString));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:HashKey is not set*RedisPendingRegistrationStore*openssl rand -base64 32*");
    }

    [Fact]
    public void RedisPendingRegistrationStore_SaysItIsShared()
    {
        typeof(RedisPendingRegistrationStore).Should().Implement<IDistributedPendingRegistrationStore>();
    }

    [Fact]
    public async Task AddRedisStore_KeyPrefix_IsUsedForEveryKey()
    {
        var prefix = "app" + Guid.NewGuid().ToString("N")[..6] + ":";
        await using var provider = Build(b => b.AddRedisStore(o =>
        {
            o.Configuration = redis.ConnectionString;
            o.KeyPrefix = prefix;
        }));

        await provider.GetRequiredService<IPendingRegistrationStore>().ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        ((RedisResult[])(await redis.AdminAsync("KEYS", prefix + "{signup:*}:lim"))!).Should().ContainSingle();
    }

    [Fact]
    public async Task ServiceProvider_Disposed_ClosesTheMultiplexerTheStoreCreated()
    {
        IConnectionMultiplexer? created = null;
        var provider = Build(b => b.AddRedisStore(o => o.ConnectionMultiplexerFactory = async () =>
            created = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)));
        await provider.GetRequiredService<IPendingRegistrationStore>().DeleteAsync(Registrations.NewKey());
        created!.IsConnected.Should().BeTrue();

        await provider.DisposeAsync();

        created.IsConnected.Should().BeFalse();
    }

    [Fact]
    public async Task ServiceProvider_Disposed_LeavesTheAppsMultiplexerOpen()
    {
        var shared = await redis.ConnectAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(shared);
        services.AddOtpVerification(WithHashKey).AddRedisStore(o => o.KeyPrefix = "shared:");
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        await provider.GetRequiredService<IPendingRegistrationStore>().ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        await provider.DisposeAsync();

        shared.IsConnected.Should().BeTrue("a multiplexer the store did not create is never disposed by it");
    }

    [Fact]
    public async Task AddRedisStore_NoConfiguration_UsesTheMultiplexerRegisteredByTheApp()
    {
        var shared = await redis.ConnectAsync();
        var prefix = "app" + Guid.NewGuid().ToString("N")[..6] + ":";
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConnectionMultiplexer>(shared);
        services.AddOtpVerification(WithHashKey).AddRedisStore((string?)null).AddRedisStore(o => o.KeyPrefix = prefix);
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        await provider.GetRequiredService<IPendingRegistrationStore>().ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        ((RedisResult[])(await redis.AdminAsync("KEYS", prefix + "*"))!).Should().ContainSingle();
    }

    [Fact]
    public async Task AddRedisStore_ConfigurationOptions_ConnectsWithThem()
    {
        var options = ConfigurationOptions.Parse(redis.ConnectionString);
        await using var provider = Build(b => b.AddRedisStore(o => o.ConfigurationOptions = options), WithHashKey);
        provider.GetRequiredService<IStartupValidator>().Validate();

        var result = await provider.GetRequiredService<IPendingRegistrationStore>().ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        result.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Store_RedisUnreachable_ThrowsUnavailable()
    {
        await using var provider = Build(b => b.AddRedisStore("127.0.0.1:1,connectTimeout=200,asyncTimeout=200"));

        var act = async () => await provider.GetRequiredService<IPendingRegistrationStore>().ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        await act.Should().ThrowAsync<OtpStoreUnavailableException>();
    }

    [Fact]
    public async Task Store_FactoryThrows_ThrowsUnavailableAndTriesAgainNextTime()
    {
        var calls = 0;
        await using var provider = Build(b => b.AddRedisStore(o => o.ConnectionMultiplexerFactory = async () =>
            ++calls == 1 ? throw new System.Net.Sockets.SocketException() : await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)));
        var store = provider.GetRequiredService<IPendingRegistrationStore>();

        var first = async () => await store.ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);
        await first.Should().ThrowAsync<OtpStoreUnavailableException>();
        var second = await store.ReserveSendAsync(Registrations.NewKey(), Registrations.Policy, DateTimeOffset.UtcNow);

        second.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Engine_WithRedisStore_StartsAndVerifiesASignup()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("ConnectionStrings:Redis", redis.ConnectionString)]).Build();
        await using var provider = Build(b => b.AddRedisStore(configuration.GetConnectionString("Redis")));
        var engine = provider.GetRequiredService<OtpEngine>();
        var outbox = provider.GetRequiredService<DevOutbox>();
        outbox.WriteToConsole = false;
        var address = $"e2e-{Guid.NewGuid():N}@example.com";

        var started = await engine.StartAsync(new OtpStartRequest
        {
            Purpose = OtpPurpose.Signup,
            Address = address,
            Destinations = [new OtpDestination(OtpChannel.Email, address)],
            Payload = [42, 43],
        });
        var code = SixDigits().Match(outbox.List(address).Single().Body).Value;
        var verified = await engine.VerifyAsync(OtpPurpose.Signup, address, started.FlowId!, code, null);

        started.Outcome.Should().Be(OtpOutcome.Accepted);
        verified.Outcome.Should().Be(OtpOutcome.Verified);
        verified.Registration!.Payload.ToArray().Should().Equal(42, 43);
    }

    /// <summary>A shared store needs the hash key to pass start-up validation.</summary>
    private static void WithHashKey(OtpVerificationOptions options) => options.Code.HashKey = Convert.ToBase64String(new byte[32]);

    private static ServiceProvider Build(Action<OtpVerificationBuilder> configure, Action<OtpVerificationOptions>? options = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configure(services.AddOtpVerification(options));
        return services.BuildServiceProvider();
    }

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();
}
