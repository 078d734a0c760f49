using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Redis;
using OtpVerification.Redis.Multiplexer;
using StackExchange.Redis;
using OtpVerification.Stores;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// The engine on <see cref="RedisPendingRegistrationStore"/> and a real <c>redis-server</c> that the
/// benchmark starts on a free loopback port and stops afterwards.
/// </summary>
public class RedisEngineBenchmarks : EngineBenchmarks
{
    private RedisServerProcess? _server;
    private ConnectionMultiplexer? _connection;

    protected override int StartPoolSize => 1 << 14;

    protected override async Task<IPendingRegistrationStore> CreateStoreAsync(TimeProvider clock)
    {
        _server = await RedisServerProcess.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
        return new RedisPendingRegistrationStore(RedisMultiplexerSource.Shared(_connection), new HmacOtpCodeHasher(new byte[32]), RedisStoreOptions.DefaultKeyPrefix, clock);
    }

    protected override async ValueTask DisposeStoreAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
