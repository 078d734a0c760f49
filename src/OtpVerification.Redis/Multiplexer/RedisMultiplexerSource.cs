using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis.Multiplexer;

/// <summary>
/// Where the store gets its <see cref="IConnectionMultiplexer"/>: one the app shares (never
/// disposed here), or one this source connects on first use from a configuration or a factory
/// (disposed with it). A failed connect is not cached: the next operation tries again.
/// </summary>
internal sealed class RedisMultiplexerSource : IAsyncDisposable, IDisposable
{
    private readonly Func<Task<IConnectionMultiplexer>>? _connect;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _owned;
    private volatile IConnectionMultiplexer? _multiplexer;
    private volatile bool _disposed;

    private RedisMultiplexerSource(IConnectionMultiplexer? shared, Func<Task<IConnectionMultiplexer>>? connect, bool owned)
    {
        _multiplexer = shared;
        _connect = connect;
        _owned = owned;
    }

    /// <summary>A multiplexer the app owns: used as it is, never disposed by the store.</summary>
    public static RedisMultiplexerSource Shared(IConnectionMultiplexer multiplexer) =>
        new(multiplexer ?? throw new ArgumentNullException(nameof(multiplexer)), null, owned: false);

    /// <summary>A multiplexer the store creates on first use and disposes.</summary>
    public static RedisMultiplexerSource Owned(Func<Task<IConnectionMultiplexer>> connect) =>
        new(null, connect ?? throw new ArgumentNullException(nameof(connect)), owned: true);

    /// <summary>
    /// Connects to <paramref name="options"/> in the background: the store starts even while Redis
    /// is down and reconnects by itself (<see cref="ConfigurationOptions.AbortOnConnectFail"/> is
    /// turned off). While disconnected, operations fail at once (503 with <c>Retry-After</c>)
    /// rather than wait in StackExchange.Redis's backlog for up to the async timeout:
    /// <see cref="BacklogPolicy.FailFast"/>, unless the options name another policy. Changes a
    /// copy; the caller's options are left as they are.
    /// </summary>
    public static RedisMultiplexerSource Owned(ConfigurationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var copy = options.Clone();
        copy.AbortOnConnectFail = false;
        if (ReferenceEquals(copy.BacklogPolicy, BacklogPolicy.Default))
        {
            copy.BacklogPolicy = BacklogPolicy.FailFast;
        }

        return Owned(async () => await ConnectionMultiplexer.ConnectAsync(copy).ConfigureAwait(false));
    }

    /// <summary>The multiplexer's database, connecting first when needed.</summary>
    /// <exception cref="OtpStoreUnavailableException">The source is disposed or the connect failed.</exception>
    public ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _multiplexer is { } multiplexer ? new(multiplexer.GetDatabase()) : ConnectAsync(cancellationToken);
    }

    private async ValueTask<IDatabase> ConnectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_multiplexer is null)
            {
                IConnectionMultiplexer connected;
                try
                {
                    connected = await _connect!().ConfigureAwait(false) ?? throw new InvalidOperationException("RedisStoreOptions.ConnectionMultiplexerFactory returned null.");
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever the factory throws (a socket error, a bad certificate, null), the
                    // store is unavailable: a 503 now, another attempt on the next operation.
                    throw new OtpStoreUnavailableException("The Redis store could not connect.", ex);
                }

                _multiplexer = connected;
            }

            return _multiplexer.GetDatabase();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        if (_owned)
        {
            _multiplexer?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_owned && _multiplexer is { } multiplexer)
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
