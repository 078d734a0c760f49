using OtpVerification.Redis.Connection;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>Counts the commands a store sends through the connection seam.</summary>
internal sealed class CountingConnection(IRedisConnection inner) : IRedisConnection
{
    private readonly List<string> _commands = [];

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public ValueTask<RedisReply> ExecuteAsync(ReadOnlySpan<RedisArg> command, CancellationToken cancellationToken = default)
    {
        lock (_commands)
        {
            _commands.Add(command[0].ToString());
        }

        return inner.ExecuteAsync(command, cancellationToken);
    }

    public void Clear()
    {
        lock (_commands)
        {
            _commands.Clear();
        }
    }

    public void Dispose() => inner.Dispose();

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
