using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>
/// One password-protected <c>redis-server</c> per test class (xUnit class fixture), so classes run
/// in parallel without seeing each other's keys, scripts or statistics.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime, IRedisTarget
{
    private readonly List<IConnectionMultiplexer> _multiplexers = [];
    private IConnectionMultiplexer? _admin;

    public RedisServer Server { get; private set; } = null!;

    /// <inheritdoc />
    public string ConnectionString => $"127.0.0.1:{Server.Port},password={Server.Password}";

    /// <inheritdoc />
    public IConnectionMultiplexer Multiplexer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        Multiplexer = await ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }

        await Server.DisposeAsync();
    }

    /// <inheritdoc />
    public async Task<IConnectionMultiplexer> ConnectAsync(string options = "", Action<ConfigurationOptions>? configure = null)
    {
        var configuration = ConfigurationOptions.Parse(ConnectionString + ",abortConnect=false" + (options.Length > 0 ? "," + options : string.Empty));
        configure?.Invoke(configuration);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        lock (_multiplexers)
        {
            _multiplexers.Add(multiplexer);
        }

        return multiplexer;
    }

    /// <summary>Runs an admin command (INFO, SCAN, CONFIG…) on the server; an error reply fails the test.</summary>
    public async Task<RedisResult> AdminAsync(string command, params object[] args)
    {
        _admin ??= await ConnectAsync("allowAdmin=true");
        return await _admin.GetServer(_admin.GetEndPoints()[0]).ExecuteAsync(command, args);
    }
}
