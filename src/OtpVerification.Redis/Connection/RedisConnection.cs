using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Connection;

/// <summary>
/// A multiplexed, self-healing connection to Redis. Callers share one <see cref="RedisSession"/>;
/// when it is lost (server restart, <c>CLIENT KILL</c>, network fault, a command with no reply
/// within the command timeout) the pending commands fail with
/// <see cref="OtpStoreUnavailableException"/> and one background loop reconnects at once, then
/// with a growing, jittered delay. Commands sent while an attempt is in progress wait for it;
/// commands sent between attempts fail at once, so a caller never hangs on a server that is down.
/// </summary>
internal sealed partial class RedisConnection : IRedisConnection
{
    private readonly RedisConnectionSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ITimer _timeoutTimer;
    private RedisSession? _session;
    private Task<RedisSession>? _attempt;
    private bool _reconnecting;
    private bool _retrying;
    private Exception? _lastError;
    private bool _disposed;

    /// <summary>Creates the connection; it connects on first use.</summary>
    /// <param name="settings">Where and how to connect.</param>
    /// <param name="timeProvider">The clock for timeouts and reconnect delays (wall-clock time).</param>
    /// <param name="logger">Receives connection events; never a password or a command's arguments.</param>
    public RedisConnection(RedisConnectionSettings settings, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        var period = TimeSpan.FromTicks(Math.Clamp(settings.CommandTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _timeoutTimer = _time.CreateTimer(static state => ((RedisConnection)state!).CheckTimeouts(), this, period, period);
    }

    /// <summary>The settings in use.</summary>
    public RedisConnectionSettings Settings => _settings;

    /// <summary>Whether a session is established right now.</summary>
    public bool IsConnected => Volatile.Read(ref _session) is { IsFaulted: false };

    /// <inheritdoc />
    public ValueTask<RedisReply> ExecuteAsync(ReadOnlySpan<RedisArg> command, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = Volatile.Read(ref _session);
        if (session is not null && session.TrySend(command, out var reply))
        {
            return Wait(reply, cancellationToken);
        }

        return ExecuteSlowAsync(command.ToArray(), cancellationToken);
    }

    /// <summary>Connects now (or waits for the attempt in progress), instead of on first use.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when connected.</returns>
    /// <exception cref="OtpStoreUnavailableException">The attempt failed, or the connection is between attempts.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default) => await GetSessionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public void Dispose()
    {
        RedisSession? session;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            session = _session;
            _session = null;
        }

        _shutdown.Cancel();
        _timeoutTimer.Dispose();
        session?.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static ValueTask<RedisReply> Wait(Task<RedisReply> reply, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled && !reply.IsCompleted ? new(reply.WaitAsync(cancellationToken)) : new(reply);

    private async ValueTask<RedisReply> ExecuteSlowAsync(RedisArg[] command, CancellationToken cancellationToken)
    {
        // Twice at most: a session lost between being handed out and the write is replaced once.
        for (var attempt = 0; ; attempt++)
        {
            var session = await GetSessionAsync(cancellationToken).ConfigureAwait(false);
            if (session.TrySend(command, out var reply))
            {
                return await Wait(reply, cancellationToken).ConfigureAwait(false);
            }

            if (attempt > 0)
            {
                throw Unavailable();
            }
        }
    }

    private async Task<RedisSession> GetSessionAsync(CancellationToken cancellationToken)
    {
        Task<RedisSession> attempt;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_session is { } current)
            {
                if (!current.IsFaulted)
                {
                    return current;
                }

                // Its fault notification is on its way; act on it now.
                _session = null;
            }

            if (_attempt is null || _retrying)
            {
                if (_reconnecting)
                {
                    // Redis was found down: fail fast, between attempts and during retries (a
                    // retry may take the whole connect timeout), rather than make callers wait.
                    // Only the first attempt after a loss is waited for: it usually succeeds.
                    throw Unavailable();
                }

                StartReconnectingLocked();
            }

            attempt = _attempt!;
        }

        try
        {
            return await attempt.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            // Each caller gets its own exception object.
            throw new OtpStoreUnavailableException(ex.Message, ex.InnerException ?? ex);
        }
    }

    private OtpStoreUnavailableException Unavailable()
    {
        var last = Volatile.Read(ref _lastError);
        return last is null
            ? new OtpStoreUnavailableException("Redis is unavailable; reconnecting in the background.")
            : new OtpStoreUnavailableException($"Redis is unavailable; reconnecting in the background. Last error: {last.Message}", last);
    }

    private void StartReconnectingLocked()
    {
        var first = new TaskCompletionSource<RedisSession>(TaskCreationOptions.RunContinuationsAsynchronously);
        _attempt = first.Task;
        _reconnecting = true;
        _ = Task.Run(() => ReconnectLoopAsync(first));
    }

    private async Task ReconnectLoopAsync(TaskCompletionSource<RedisSession> attempt)
    {
        var failures = 0;
        var token = _shutdown.Token;
        while (true)
        {
            try
            {
                var session = await ConnectAnyAsync(token).ConfigureAwait(false);
                bool disposed;
                lock (_lock)
                {
                    _attempt = null;
                    _reconnecting = false;
                    _retrying = false;
                    disposed = _disposed;
                    if (!disposed)
                    {
                        _session = session;
                        _lastError = null;
                    }
                }

                if (disposed)
                {
                    session.Dispose();
                    attempt.TrySetException(new ObjectDisposedException(nameof(RedisConnection)));
                    return;
                }

                Log.Connected(_logger, session.Endpoint.ToString(), failures);
                attempt.TrySetResult(session);
                return;
            }
            catch (Exception ex)
            {
                var error = ex as OtpStoreUnavailableException ?? new OtpStoreUnavailableException($"Could not connect to Redis: {ex.Message}", ex);
                lock (_lock)
                {
                    _attempt = null;
                    _retrying = true;
                    _lastError = error;
                    if (_disposed)
                    {
                        _reconnecting = false;
                    }
                }

                attempt.TrySetException(error);
                _ = attempt.Task.Exception; // Observed: nobody may be waiting for a background retry.
                if (token.IsCancellationRequested)
                {
                    return;
                }

                failures++;
                if (failures == 1)
                {
                    Log.ConnectFailed(_logger, error.Message);
                }
                else
                {
                    Log.StillUnreachable(_logger, failures, error.Message);
                }
            }

            try
            {
                await Task.Delay(Backoff(failures), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            attempt = new TaskCompletionSource<RedisSession>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (_disposed)
                {
                    _reconnecting = false;
                    return;
                }

                _attempt = attempt.Task;
            }
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var min = _settings.ReconnectMinDelay.TotalMilliseconds;
        var max = _settings.ReconnectMaxDelay.TotalMilliseconds;
        var exponential = Math.Min(max, min * Math.Pow(2, Math.Min(failures - 1, 20)));
        // Jitter (±20 %) so that many app instances do not reconnect in lockstep.
        return TimeSpan.FromMilliseconds(exponential * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private async Task<RedisSession> ConnectAnyAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        Exception? last = null;
        foreach (var endpoint in _settings.Endpoints)
        {
            try
            {
                return await ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{endpoint}: {ex.Message}");
                last = ex;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new OtpStoreUnavailableException($"Could not connect to Redis ({string.Join("; ", failures)}).", last!);
    }

    private async Task<RedisSession> ConnectAsync(RedisEndpoint endpoint, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_settings.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        RedisSession? session = null;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (_settings.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = _settings.SslHost ?? endpoint.Host,
                        EnabledSslProtocols = _settings.SslProtocols,
                        CertificateRevocationCheckMode = _settings.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = _settings.CertificateValidation,
                    },
                    token).ConfigureAwait(false);
            }

            session = new RedisSession(endpoint, socket, stream, _time, OnSessionFaulted);
            session.Start();
            await HandshakeAsync(session, token).ConfigureAwait(false);
            return session;
        }
        catch (Exception ex)
        {
            if (session is not null)
            {
                session.Dispose();
            }
            else if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            if (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No connection within {_settings.ConnectTimeout.TotalMilliseconds:0} ms (connectTimeout).", ex);
            }

            throw;
        }
    }

    private async Task HandshakeAsync(RedisSession session, CancellationToken cancellationToken)
    {
        if (_settings.Password is not null)
        {
            var auth = await SendAsync(session, _settings.User is null ? ["AUTH", _settings.Password] : ["AUTH", _settings.User, _settings.Password], cancellationToken).ConfigureAwait(false);
            if (auth.IsError)
            {
                var who = _settings.User is null ? "the password" : $"user '{_settings.User}' and its password";
                throw new RedisServerException($"Redis refused {who} ({auth.ErrorMessage}). Check password= and user= in the connection string.");
            }
        }

        if (_settings.DefaultDatabase != 0)
        {
            var select = await SendAsync(session, ["SELECT", _settings.DefaultDatabase], cancellationToken).ConfigureAwait(false);
            if (select.IsError)
            {
                throw new RedisServerException($"Redis refused defaultDatabase={_settings.DefaultDatabase} ({select.ErrorMessage}).");
            }
        }

        if (_settings.ClientName is not null)
        {
            (await SendAsync(session, ["CLIENT", "SETNAME", _settings.ClientName], cancellationToken).ConfigureAwait(false)).ThrowIfError();
        }

        var ping = await SendAsync(session, ["PING"], cancellationToken).ConfigureAwait(false);
        if (ping.IsError)
        {
            var hint = ping.ErrorMessage!.StartsWith("NOAUTH", StringComparison.Ordinal) ? " Redis requires a password: add password= (and user= for an ACL user) to the connection string." : string.Empty;
            throw new RedisServerException($"Redis refused the connection ({ping.ErrorMessage}).{hint}");
        }
    }

    private static Task<RedisReply> SendAsync(RedisSession session, ReadOnlySpan<RedisArg> command, CancellationToken cancellationToken) =>
        session.TrySend(command, out var reply)
            ? reply.WaitAsync(cancellationToken)
            : Task.FromException<RedisReply>(new IOException("The connection closed during the handshake."));

    private void OnSessionFaulted(RedisSession session, Exception reason)
    {
        lock (_lock)
        {
            if (_session == session)
            {
                _session = null;
            }

            if (_disposed || _attempt is not null || _reconnecting)
            {
                return;
            }

            _lastError = new OtpStoreUnavailableException($"The connection to Redis at {session.Endpoint} was lost ({reason.Message}).", reason);
            StartReconnectingLocked();
        }

        Log.ConnectionLost(_logger, session.Endpoint.ToString(), reason.GetType().Name, reason.Message);
    }

    private void CheckTimeouts() => Volatile.Read(ref _session)?.CheckTimeout(_settings.CommandTimeout);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, EventName = "RedisConnected", Level = LogLevel.Information, Message = "Connected to Redis at {Endpoint} after {FailedAttempts} failed attempts.")]
        public static partial void Connected(ILogger logger, string endpoint, int failedAttempts);

        [LoggerMessage(EventId = 1402, EventName = "RedisConnectFailed", Level = LogLevel.Warning, Message = "Connecting to Redis failed; retrying in the background. {Reason}")]
        public static partial void ConnectFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1404, EventName = "RedisStillUnreachable", Level = LogLevel.Debug, Message = "Connecting to Redis failed again (attempt {Attempt}): {Reason}")]
        public static partial void StillUnreachable(ILogger logger, int attempt, string reason);

        [LoggerMessage(EventId = 1403, EventName = "RedisConnectionLost", Level = LogLevel.Warning, Message = "The connection to Redis at {Endpoint} was lost ({ExceptionType}: {Reason}); reconnecting.")]
        public static partial void ConnectionLost(ILogger logger, string endpoint, string exceptionType, string reason);
    }
}
