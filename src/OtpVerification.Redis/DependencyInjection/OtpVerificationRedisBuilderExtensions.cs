using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtpVerification;
using OtpVerification.Redis;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis pending-registration store.</summary>
public static class OtpVerificationRedisBuilderExtensions
{
    /// <summary>
    /// Keeps pending registrations in Redis, replacing the store registered before (the in-memory
    /// one by default). Safe to call more than once; the last configuration wins. With a null or
    /// empty <paramref name="configuration"/> the store uses the <see cref="IConnectionMultiplexer"/>
    /// the app registered; with neither, the app stops at start-up with a message naming
    /// <c>ConnectionStrings:Redis</c>. A malformed string stops it likewise.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string (standalone, several Cluster endpoints, or Sentinel with <c>serviceName=</c>), usually <c>Configuration.GetConnectionString("Redis")</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TBuilder AddRedisStore<TBuilder>(this TBuilder builder, string? configuration)
        where TBuilder : IOtpVerificationBuilder
        => builder.AddRedisStore(options => options.Configuration = configuration);

    /// <summary>
    /// Keeps pending registrations in Redis, replacing the store registered before (the in-memory
    /// one by default). Safe to call more than once; the configurations apply in order. The options
    /// are validated at start-up. The store connects on first use with
    /// <see cref="RedisStoreOptions.ConnectionMultiplexerFactory"/>,
    /// <see cref="RedisStoreOptions.ConfigurationOptions"/> or <see cref="RedisStoreOptions.Configuration"/>
    /// (the first one set), and disposes that connection with the service provider; with none set it
    /// shares the <see cref="IConnectionMultiplexer"/> registered in the service collection and never
    /// disposes it.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the connection and, optionally, the key prefix.</param>
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
        services.TryAddSingleton(static sp => CreateSource(sp, sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value));
        services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(static sp => new RedisPendingRegistrationStore(
            sp.GetRequiredService<RedisMultiplexerSource>(),
            sp.GetRequiredService<IOtpCodeHasher>(),
            sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.KeyPrefix,
            sp.GetService<TimeProvider>())));
        return builder;
    }

    private static RedisMultiplexerSource CreateSource(IServiceProvider services, RedisStoreOptions options)
    {
        if (options.ConnectionMultiplexerFactory is { } factory)
        {
            return RedisMultiplexerSource.Owned(factory);
        }

        if (options.ConfigurationOptions is { } configurationOptions)
        {
            return RedisMultiplexerSource.Owned(configurationOptions);
        }

        if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            return RedisMultiplexerSource.Owned(ConfigurationOptions.Parse(options.Configuration));
        }

        return RedisMultiplexerSource.Shared(services.GetRequiredService<IConnectionMultiplexer>());
    }
}
