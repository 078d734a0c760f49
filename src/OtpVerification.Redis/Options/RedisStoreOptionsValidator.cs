using Microsoft.Extensions.Options;
using OtpVerification.Redis.Connection;

namespace OtpVerification.Redis;

/// <summary>Checks <see cref="RedisStoreOptions"/> at start-up, with messages that name the setting.</summary>
internal sealed class RedisStoreOptionsValidator : IValidateOptions<RedisStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add("ConnectionStrings:Redis is not set: the Redis store needs a connection string such as '127.0.0.1:6379' or 'redis:6380,password=…,ssl=true' (RedisStoreOptions.Configuration).");
        }
        else
        {
            try
            {
                _ = RedisConnectionSettings.Parse(options.Configuration);
            }
            catch (FormatException ex)
            {
                // The parser's messages never repeat a password.
                failures.Add($"ConnectionStrings:Redis is not a valid Redis connection string: {ex.Message}");
            }
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
}
