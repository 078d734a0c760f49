using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace OtpVerification.Redis;

/// <summary>Checks <see cref="RedisStoreOptions"/> at start-up, with messages that name the setting.</summary>
/// <param name="services">Tells whether the app registered an <see cref="IConnectionMultiplexer"/>.</param>
internal sealed class RedisStoreOptionsValidator(IServiceProviderIsService services) : IValidateOptions<RedisStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.ConnectionMultiplexerFactory is null && options.ConfigurationOptions is null)
        {
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                if (!services.IsService(typeof(IConnectionMultiplexer)))
                {
                    failures.Add("ConnectionStrings:Redis is not set: the Redis store needs a connection string such as '127.0.0.1:6379', 'redis:6380,password=…,ssl=true' or 'n1:7000,n2:7001,n3:7002' (RedisStoreOptions.Configuration), a RedisStoreOptions.ConfigurationOptions or ConnectionMultiplexerFactory, or an IConnectionMultiplexer registered by the app.");
                }
            }
            else
            {
                ValidateConfiguration(options.Configuration, failures);
            }
        }
        else if (options.ConfigurationOptions is { EndPoints.Count: 0 } && options.ConnectionMultiplexerFactory is null)
        {
            failures.Add("RedisStoreOptions.ConfigurationOptions has no endpoint: add at least one (EndPoints.Add(\"host:6379\")).");
        }

        if (options.KeyPrefix is null)
        {
            failures.Add("RedisStoreOptions.KeyPrefix must not be null (use an empty string for no prefix).");
        }
        else if (options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            failures.Add($"RedisStoreOptions.KeyPrefix '{options.KeyPrefix}' must not contain '{{' or '}}': they would break the keys' Redis Cluster hash tags.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateConfiguration(string configuration, List<string> failures)
    {
        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            // StackExchange.Redis names the bad keyword; its messages never repeat a password.
            failures.Add($"ConnectionStrings:Redis is not a valid StackExchange.Redis configuration string: {ex.Message}");
            return;
        }

        if (parsed.EndPoints.Count == 0)
        {
            failures.Add("ConnectionStrings:Redis names no endpoint: give at least one 'host:port'.");
        }
    }
}
