using OtpVerification.Stores;

namespace OtpVerification.Redis.Connection;

/// <summary>
/// The seam between the store and the wire: one multiplexed connection that any number of
/// callers use at once. Error replies are returned, not thrown; a connection that is down, lost
/// or silent throws <see cref="OtpStoreUnavailableException"/>.
/// </summary>
internal interface IRedisConnection : IDisposable, IAsyncDisposable
{
    /// <summary>Sends one command and waits for its reply.</summary>
    /// <param name="command">The command name and its arguments.</param>
    /// <param name="cancellationToken">Stops waiting; a command already sent may still run.</param>
    /// <returns>The reply, possibly an error reply.</returns>
    /// <exception cref="OtpStoreUnavailableException">Redis cannot be reached, the connection was lost before the reply, or no reply came in time.</exception>
    ValueTask<RedisReply> ExecuteAsync(ReadOnlySpan<RedisArg> command, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a Lua script by its SHA1 (<c>EVALSHA</c>): one round trip. When the server does not
    /// know the script (<c>NOSCRIPT</c>: restarted, failed over, <c>SCRIPT FLUSH</c>) it is sent
    /// whole once with <c>EVAL</c>, which also caches it again.
    /// </summary>
    /// <param name="script">The script.</param>
    /// <param name="keys">The keys it touches (<c>KEYS</c>).</param>
    /// <param name="args">Its other arguments (<c>ARGV</c>).</param>
    /// <param name="cancellationToken">Stops waiting; a script already sent may still run.</param>
    /// <returns>The script's reply, possibly an error reply.</returns>
    /// <exception cref="OtpStoreUnavailableException">As for <see cref="ExecuteAsync"/>.</exception>
    ValueTask<RedisReply> EvalShaAsync(RedisScript script, ReadOnlySpan<RedisArg> keys, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default)
    {
        var command = new RedisArg[3 + keys.Length + args.Length];
        command[0] = "EVALSHA";
        command[1] = script.Sha1;
        command[2] = keys.Length;
        keys.CopyTo(command.AsSpan(3));
        args.CopyTo(command.AsSpan(3 + keys.Length));
        return WithFallbackAsync(ExecuteAsync(command, cancellationToken), command, script, cancellationToken);
    }

    private async ValueTask<RedisReply> WithFallbackAsync(ValueTask<RedisReply> first, RedisArg[] command, RedisScript script, CancellationToken cancellationToken)
    {
        var reply = await first.ConfigureAwait(false);
        if (!IsNoScript(reply))
        {
            return reply;
        }

        command[0] = "EVAL";
        command[1] = script.Body;
        return await ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsNoScript(RedisReply reply) => reply.IsError && reply.ErrorMessage!.StartsWith("NOSCRIPT", StringComparison.Ordinal);
}
