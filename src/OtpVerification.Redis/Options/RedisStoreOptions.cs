using StackExchange.Redis;

namespace OtpVerification.Redis;

/// <summary>
/// The Redis store's settings: how it gets its StackExchange.Redis connection and the prefix of
/// its keys. Set at most one of <see cref="Configuration"/>, <see cref="ConfigurationOptions"/>
/// and <see cref="ConnectionMultiplexerFactory"/>; with none of them, the store uses the
/// <see cref="IConnectionMultiplexer"/> registered in the service collection (the app's own). A
/// multiplexer the store did not create is never disposed by it. Validated at start-up.
/// </summary>
public sealed class RedisStoreOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>.</summary>
    public const string DefaultKeyPrefix = "otp:";

    /// <summary>
    /// A StackExchange.Redis configuration string, usually bound from <c>ConnectionStrings:Redis</c>:
    /// <c>127.0.0.1:6379</c>; <c>redis:6380,user=app,password=…,ssl=true</c>; several endpoints of a
    /// Redis Cluster (<c>n1:7000,n2:7001,n3:7002</c>); or Sentinel
    /// (<c>sentinel1:26379,serviceName=mymaster</c>). The store connects on first use and keeps
    /// reconnecting in the background (<c>abortConnect=false</c>), and disposes the connection with
    /// the service provider.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// The configuration as an object, for what a string cannot say (a certificate validation
    /// callback, a token-based password provider). Takes precedence over <see cref="Configuration"/>.
    /// The store connects, owns and disposes the connection, as for <see cref="Configuration"/>.
    /// </summary>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Creates the connection the store uses, called once on first use (again after a failure).
    /// Takes precedence over the two settings above. The store disposes what it returns with the
    /// service provider; to share a multiplexer the app keeps, register it as
    /// <see cref="IConnectionMultiplexer"/> and set none of these three settings instead.
    /// </summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Put in front of every key (default <c>otp:</c>), so several apps can share a database and an
    /// ACL can confine this one to <c>~otp:*</c>. Must not contain <c>{</c> or <c>}</c>, which
    /// would break the keys' Redis Cluster hash tags.
    /// </summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;
}
