using OtpVerification.Redis.Connection;

namespace OtpVerification.Benchmarks.Redis;

/// <summary>Counts the commands the store sends (client-side round trips), by command name.</summary>
internal sealed class CountingRedisConnection(IRedisConnection inner) : IRedisConnection
{
    private readonly Dictionary<string, int> _commands = new(StringComparer.OrdinalIgnoreCase);

    public int Total
    {
        get
        {
            lock (_commands)
            {
                return _commands.Values.Sum();
            }
        }
    }

    public string Describe()
    {
        lock (_commands)
        {
            return string.Join(", ", _commands.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
        }
    }

    public void Clear()
    {
        lock (_commands)
        {
            _commands.Clear();
        }
    }

    public ValueTask<RedisReply> ExecuteAsync(ReadOnlySpan<RedisArg> command, CancellationToken cancellationToken = default)
    {
        lock (_commands)
        {
            var name = command[0].ToString();
            _commands[name] = _commands.GetValueOrDefault(name) + 1;
        }

        return inner.ExecuteAsync(command, cancellationToken);
    }

    public void Dispose() => inner.Dispose();

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
