using OtpVerification.Redis.Connection;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>
/// One password-protected <c>redis-server</c> per test class (xUnit class fixture), so classes run
/// in parallel without seeing each other's keys, scripts or statistics.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private readonly List<IRedisConnection> _connections = [];
    private RedisConnection? _shared;
    private RedisConnection? _admin;

    public RedisServer Server { get; private set; } = null!;

    /// <summary>The connection string of the server, with its password.</summary>
    public string ConnectionString => $"127.0.0.1:{Server.Port},password={Server.Password}";

    /// <summary>A separate connection for inspecting the server (INFO, SCAN, CONFIG…).</summary>
    internal RedisConnection Admin => _admin ??= Track(CreateConnection());

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await Server.DisposeAsync();
    }

    /// <summary>A new connection to the server (not shared), disposed with the fixture.</summary>
    /// <param name="options">Appended to the connection string, e.g. <c>syncTimeout=200</c>.</param>
    /// <param name="fastReconnect">Reconnect within tens of milliseconds rather than the default up to 2 s.</param>
    internal RedisConnection CreateConnection(string options = "", bool fastReconnect = true)
    {
        var settings = RedisConnectionSettings.Parse(ConnectionString + (options.Length > 0 ? "," + options : string.Empty));
        if (fastReconnect)
        {
            settings = settings.With(reconnectMinDelay: TimeSpan.FromMilliseconds(10), reconnectMaxDelay: TimeSpan.FromMilliseconds(100));
        }

        return Track(new RedisConnection(settings));
    }

    /// <summary>
    /// A store with keys of its own (a fresh key prefix) on the fixture's shared connection: what a
    /// store contract suite's factory returns.
    /// </summary>
    /// <param name="timeProvider">The clock for the operations that are not given the time.</param>
    public IPendingRegistrationStore CreateStore(TimeProvider? timeProvider = null) => CreateStore(out _, timeProvider);

    /// <summary>As <see cref="CreateStore(TimeProvider?)"/>, and tells the key prefix.</summary>
    public IPendingRegistrationStore CreateStore(out string keyPrefix, TimeProvider? timeProvider = null)
    {
        keyPrefix = "t" + Guid.NewGuid().ToString("N")[..12] + ":";
        return new RedisPendingRegistrationStore(_shared ??= Track(CreateConnection()), keyPrefix, timeProvider);
    }

    /// <summary>A store over a given connection.</summary>
    internal static RedisPendingRegistrationStore CreateStore(IRedisConnection connection, string keyPrefix, TimeProvider? timeProvider = null) =>
        new(connection, keyPrefix, timeProvider);

    /// <summary>Runs an admin command and fails the test on an error reply.</summary>
    internal async Task<RedisReply> AdminAsync(params RedisArg[] command)
    {
        var reply = await Admin.ExecuteAsync(command);
        return reply.IsError ? throw new InvalidOperationException($"{command[0]} failed: {reply.ErrorMessage}") : reply;
    }

    private T Track<T>(T connection)
        where T : IRedisConnection
    {
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }
}
