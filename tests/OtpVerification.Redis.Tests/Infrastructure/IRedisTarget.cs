using OtpVerification.Redis.Multiplexer;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>A Redis deployment the store tests run against: a standalone server or a cluster.</summary>
public interface IRedisTarget
{
    /// <summary>The StackExchange.Redis configuration string, password included.</summary>
    string ConnectionString { get; }

    /// <summary>A multiplexer shared by the target's stores (created with the fixture).</summary>
    IConnectionMultiplexer Multiplexer { get; }

    /// <summary>A new multiplexer of its own, disposed with the fixture.</summary>
    /// <param name="options">Appended to the configuration string.</param>
    /// <param name="configure">Changes the parsed options before connecting.</param>
    Task<IConnectionMultiplexer> ConnectAsync(string options = "", Action<ConfigurationOptions>? configure = null);
}

/// <summary>Stores over a target.</summary>
public static class RedisTargetExtensions
{
    /// <summary>A store with keys of its own (a fresh key prefix) on the target's shared multiplexer.</summary>
    public static IPendingRegistrationStore CreateStore(this IRedisTarget target, TimeProvider? timeProvider = null) =>
        target.CreateStore(out _, timeProvider);

    /// <summary>As <see cref="CreateStore(IRedisTarget, TimeProvider?)"/>, and tells the key prefix.</summary>
    public static IPendingRegistrationStore CreateStore(this IRedisTarget target, out string keyPrefix, TimeProvider? timeProvider = null)
    {
        keyPrefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        return CreateStore(target.Multiplexer, keyPrefix, timeProvider);
    }

    /// <summary>A store over a given multiplexer (not disposed by the store).</summary>
    internal static RedisPendingRegistrationStore CreateStore(IConnectionMultiplexer multiplexer, string keyPrefix, TimeProvider? timeProvider = null) =>
        new(RedisMultiplexerSource.Shared(multiplexer), Registrations.Hasher, keyPrefix, timeProvider);
}
