using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification;
using OtpVerification.Redis;
using OtpVerification.Redis.Connection;
using OtpVerification.Stores;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis pending-registration store.</summary>
public static class OtpVerificationRedisBuilderExtensions
{
    /// <summary>
    /// Keeps pending registrations in Redis, replacing the store registered before (the in-memory
    /// one by default). Safe to call more than once; the last connection string wins. A missing or
    /// malformed connection string stops the app at start-up with a message naming
    /// <c>ConnectionStrings:Redis</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">A StackExchange.Redis-style connection string, usually <c>Configuration.GetConnectionString("Redis")</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TBuilder AddRedisStore<TBuilder>(this TBuilder builder, string? connectionString)
        where TBuilder : IOtpVerificationBuilder
        => builder.AddRedisStore(options => options.Configuration = connectionString);

    /// <summary>
    /// Keeps pending registrations in Redis, replacing the store registered before (the in-memory
    /// one by default). Safe to call more than once; the configurations apply in order. The options
    /// are validated at start-up. One multiplexed connection is shared by the app and closed when
    /// the service provider is disposed; it connects on first use and reconnects by itself.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the connection string and, optionally, the key prefix and certificate check.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is null.</exception>
    public static TBuilder AddRedisStore<TBuilder>(this TBuilder builder, Action<RedisStoreOptions> configure)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisStoreOptions>, RedisStoreOptionsValidator>());
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value;
            var settings = RedisConnectionSettings.Parse(options.Configuration!).With(certificateValidation: options.CertificateValidation);

            // Network timeouts and reconnect delays run on the wall clock, whatever clock the app
            // registered (a test's manual clock must not freeze reconnection).
            return new RedisConnection(settings, TimeProvider.System, sp.GetService<ILogger<RedisConnection>>());
        });
        services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(static sp => new RedisPendingRegistrationStore(
            sp.GetRequiredService<RedisConnection>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.KeyPrefix,
            sp.GetService<TimeProvider>(),
            sp.GetRequiredService<IOtpCodeHasher>())));
        return builder;
    }
}
