using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Redis.Stores;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis;

/// <summary>
/// A pending-registration store in Redis, shared by every app instance: each operation is one
/// atomic Lua script (one round trip, <c>EVALSHA</c> through StackExchange.Redis), so the cooldown,
/// the rolling limit, the attempt cap and single use hold across processes, on a standalone server,
/// behind Sentinel or on a Redis Cluster. It behaves exactly as
/// <see cref="InMemoryPendingRegistrationStore"/>, except that it has no entry cap of its own:
/// when Redis refuses writes for lack of memory (<c>maxmemory</c>), sends are refused with
/// <see cref="SendGateStatus.CapacityExceeded"/> and verifies throw
/// <see cref="OtpStoreUnavailableException"/> without comparing the code (a guess that cannot be
/// counted is not evaluated).
/// </summary>
/// <remarks>
/// <para>
/// The keys of one address share a Redis Cluster hash tag and hold no plaintext: the address
/// appears only as a keyed hash in key names (<see cref="IOtpCodeHasher.KeyName"/>), the code only
/// as its keyed hash, the destinations, device id and flow id sealed, the payload as the protected
/// bytes the app gave. Every key expires (the registration with the entry, the send limits at the
/// end of the window and the cooldown). Registered by <c>AddRedisStore</c>.
/// </para>
/// <para>
/// Every fault of Redis or of the connection (unreachable, timed out, failing over, out of memory,
/// disposed) surfaces as <see cref="OtpStoreUnavailableException"/>.
/// </para>
/// <para>
/// Cancellation stops the wait for the reply; a script already sent may still run.
/// </para>
/// </remarks>
public sealed class RedisPendingRegistrationStore : IDistributedPendingRegistrationStore, IOtpStoreHealth
{
    private readonly RedisMultiplexerSource _source;
    private readonly IOtpCodeHasher _hasher;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;

    internal RedisPendingRegistrationStore(RedisMultiplexerSource source, IOtpCodeHasher hasher, string keyPrefix, TimeProvider? timeProvider = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _keyPrefix = keyPrefix ?? throw new ArgumentNullException(nameof(keyPrefix));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The instant Redis values count ticks from: 2020-01-01, so every instant until 2048 is below 2^53 and exact in Lua.</summary>
    internal static readonly DateTimeOffset Epoch = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public async ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(registration.CodeHash);
        ArgumentNullException.ThrowIfNull(registration.FlowId);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, registration.Key, _hasher);
        // One array of arguments, built in place: the policy, then the registration's fields.
        var args = new RedisValue[4 + RegistrationFieldCount];
        args[0] = Ticks(now);
        args[1] = policy.Cooldown.Ticks;
        args[2] = policy.MaxPerWindow;
        args[3] = policy.Window.Ticks;
        WriteRegistrationFields(registration, args.AsSpan(4));
        var reply = await RunAsync(RedisStoreScripts.Create, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "create", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        return Gate(reply);
    }

    /// <inheritdoc />
    public async ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [Ticks(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks];
        var reply = await RunAsync(RedisStoreScripts.Reserve, [RedisKeys.LimitsFor(_keyPrefix, key, _hasher)], args, "reserve", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        return Gate(reply);
    }

    /// <inheritdoc />
    public ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] codeHash, DateTimeOffset codeExpiresAt, int maxAttempts, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => ResendAsync(key, new ResendCode { CodeHash = codeHash, CodeExpiresAt = codeExpiresAt, MaxAttempts = maxAttempts }, policy, now, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(code.CodeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        RedisValue[] args =
        [
            Ticks(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks,
            code.CodeHash, Ticks(code.CodeExpiresAt), code.MaxAttempts, code.ProtectedCode ?? [],
            code.ReuseWhileRemaining is { } remaining ? remaining.Ticks.ToString(CultureInfo.InvariantCulture) : string.Empty,
        ];
        var reply = await RunAsync(RedisStoreScripts.Resend, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "resend", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        var gate = Gate(reply);
        if (gate.Status != SendGateStatus.Allowed)
        {
            return gate;
        }

        var values = Elements(reply!, "resend");
        if (values.Length < 10)
        {
            throw Malformed("resend");
        }

        var (destinations, deviceId, flowId, payload) = Open(key, values[5]);
        var protectedCode = (byte[]?)values[9];
        return gate with
        {
            Registration = new PendingRegistration
            {
                Key = key,
                FlowId = flowId,
                CodeHash = (byte[]?)values[6] ?? throw Malformed("resend"),
                ProtectedCode = protectedCode is { Length: > 0 } ? protectedCode : null,
                CodeExpiresAt = ParseInstant(values[2]),
                ExpiresAt = ParseInstant(values[3]),
                AttemptsLeft = checked((int)AsInt64(values[7])),
                Destinations = destinations,
                DeliveredTo = DeliveredTo(key, values[8], destinations),
                DeviceId = deviceId,
                Decoy = (string?)values[4] == "1",
                Payload = payload,
            },
        };
    }

    /// <inheritdoc />
    public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, OtpDestination destination, CancellationToken cancellationToken = default)
        => RedirectAsync(key, expectedCodeHash, codeHash, null, destination, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expectedCodeHash);
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        var reply = await RunAsync(RedisStoreScripts.Redirect, [keys.Registration], [expectedCodeHash, codeHash, RegistrationEnvelope.SealDestination(key, destination), Ticks(_time.GetUtcNow()), protectedCode ?? []], "redirect", cancellationToken).ConfigureAwait(false);
        return Flag(reply!, "redirect");
    }

    /// <inheritdoc />
    public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flowId);
        ArgumentNullException.ThrowIfNull(codeHashes);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        var args = new RedisValue[4 + codeHashes.Count];
        args[0] = Ticks(now);
        args[1] = FlowHash(flowId);
        args[2] = DeviceHash(deviceId);
        args[3] = codeHashes.Count;
        for (var j = 0; j < codeHashes.Count; j++)
        {
            args[4 + j] = codeHashes[j] ?? RedisValue.EmptyString;
        }

        var reply = await RunAsync(RedisStoreScripts.Verify, [keys.Registration, keys.Payload, keys.ReplacedRegistration, keys.ReplacedPayload], args, "verify", cancellationToken).ConfigureAwait(false);
        var values = Elements(reply!, "verify");
        var status = (StoreVerifyStatus)AsInt64(values[0]);
        switch (status)
        {
            case StoreVerifyStatus.Success when values.Length >= 8:
                var (destinations, storedDevice, storedFlow, payload) = Open(key, values[5]);
                var consumed = new PendingRegistration
                {
                    Key = key,
                    FlowId = storedFlow,
                    CodeHash = (byte[]?)values[7] ?? throw Malformed("verify"),
                    CodeExpiresAt = ParseInstant(values[2]),
                    ExpiresAt = ParseInstant(values[3]),
                    AttemptsLeft = checked((int)AsInt64(values[4])),
                    Destinations = destinations,
                    DeliveredTo = DeliveredTo(key, values[6], destinations),
                    DeviceId = storedDevice,
                    Payload = payload,
                };
                return new StoreVerifyResult(status, checked((int)AsInt64(values[1])), consumed);
            case StoreVerifyStatus.Invalid when values.Length >= 2:
                return new StoreVerifyResult(status, checked((int)AsInt64(values[1])));
            case StoreVerifyStatus.NotFound or StoreVerifyStatus.Expired or StoreVerifyStatus.MaxAttempts or StoreVerifyStatus.DeviceMismatch or StoreVerifyStatus.FlowMismatch:
                return new StoreVerifyResult(status);
            default:
                throw Malformed("verify");
        }
    }

    /// <inheritdoc />
    public async ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        RedisValue[] args = [Ticks(_time.GetUtcNow()), codeHash];
        _ = await RunAsync(RedisStoreScripts.CancelSend, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "cancel-send", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, registration.Key, _hasher);
        var args = new RedisValue[1 + RegistrationFieldCount];
        args[0] = Ticks(now);
        WriteRegistrationFields(registration, args.AsSpan(1));

        var reply = await RunAsync(RedisStoreScripts.PutBack, [keys.Registration, keys.Payload], args, "put-back", cancellationToken).ConfigureAwait(false);
        return Flag(reply!, "put-back");
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        var reply = await RunAsync(RedisStoreScripts.Delete, [keys.Registration, keys.Payload, keys.ReplacedRegistration, keys.ReplacedPayload], [Ticks(_time.GetUtcNow())], "delete", cancellationToken).ConfigureAwait(false);
        return Flag(reply!, "delete");
    }

    /// <inheritdoc />
    /// <remarks>One <c>SET … NX PX</c> in a script on <c>{prefix}{{purpose}:{name}}:used</c> (the name a keyed hash of the token id, like every key here); the key expires with the mark. Out of memory, the use is refused with <see cref="OtpStoreUnavailableException"/>.</remarks>
    public async ValueTask<bool> ConsumeOnceAsync(PendingKey key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var life = Math.Max(1L, (long)Math.Ceiling((expiresAt - now).TotalMilliseconds));
        var reply = await RunAsync(RedisStoreScripts.ConsumeOnce, [RedisKeys.UsedFor(_keyPrefix, key, _hasher)], [life], "consume-once", cancellationToken).ConfigureAwait(false);
        return Flag(reply!, "consume-once");
    }

    /// <summary>An instant as the scripts take it: ticks since <see cref="Epoch"/>.</summary>
    internal static string Instant(DateTimeOffset value) => (value.UtcTicks - Epoch.UtcTicks).ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseInstant(RedisResult reply) => new(Epoch.UtcTicks + AsInt64(reply), TimeSpan.Zero);

    /// <summary>Ticks since <see cref="Epoch"/> as a number argument: the same digits as <see cref="Instant"/> on the wire, without a string.</summary>
    private static long Ticks(DateTimeOffset value) => value.UtcTicks - Epoch.UtcTicks;

    /// <summary>How many values <see cref="WriteRegistrationFields"/> writes.</summary>
    private const int RegistrationFieldCount = 10;

    /// <summary>A registration's fields as Create and PutBack take them: hash, code expiry, expiry, attempts, device hash, flow hash, sealed destination, decoy, sealed payload, protected code.</summary>
    private static void WriteRegistrationFields(PendingRegistration registration, Span<RedisValue> fields)
    {
        fields[0] = registration.CodeHash;
        fields[1] = Ticks(registration.CodeExpiresAt);
        fields[2] = Ticks(registration.ExpiresAt);
        fields[3] = registration.AttemptsLeft;
        fields[4] = DeviceHash(registration.DeviceId);
        fields[5] = FlowHash(registration.FlowId);
        fields[6] = registration.Destinations.Count > 0 && registration.Destinations[0] == registration.DeliveredTo ? RedisValue.EmptyString : RegistrationEnvelope.SealDestination(registration.Key, registration.DeliveredTo);
        fields[7] = registration.Decoy ? Decoy : RedisValue.EmptyString;
        fields[8] = RegistrationEnvelope.Seal(registration);
        fields[9] = registration.ProtectedCode ?? RedisValue.EmptyString;
    }

    private static readonly RedisValue Decoy = "1";

    private static OtpDestination DeliveredTo(PendingKey key, RedisResult sealedDestination, OtpDestination[] destinations)
    {
        var bytes = (byte[]?)sealedDestination;
        if (bytes is null || bytes.Length == 0)
        {
            return destinations.Length > 0 ? destinations[0] : throw Malformed("verify");
        }

        try
        {
            return RegistrationEnvelope.OpenDestination(key, bytes);
        }
        catch (InvalidDataException ex)
        {
            throw new OtpStoreUnavailableException("A registration stored in Redis could not be read.", ex);
        }
    }

    /// <summary>A flow id as the scripts compare it: 16 bytes of SHA-256 (the flow id itself is only in the sealed envelope).</summary>
    private static byte[] FlowHash(string flowId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(flowId.AsSpan()), hash);
        return hash[..16].ToArray();
    }

    /// <summary>A device id as the scripts compare it: 16 bytes of SHA-256 over its UTF-16 code units (ordinal equality), or empty for none.</summary>
    private static byte[] DeviceHash(string? deviceId)
    {
        if (deviceId is null)
        {
            return [];
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(deviceId.AsSpan()), hash);
        return hash[..16].ToArray();
    }

    /// <summary>Sends <c>PING</c> on the store's connection (health checks): one round trip, nothing changed.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when Redis answered.</returns>
    /// <exception cref="OtpStoreUnavailableException">Redis cannot be reached or answered with an error.</exception>
    public async ValueTask PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var database = await _source.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
            await Until(database.PingAsync(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or ObjectDisposedException)
        {
            throw new OtpStoreUnavailableException($"The Redis store is unavailable (ping): {ex.GetType().Name}.", ex);
        }
    }

    /// <summary>
    /// Runs one script: one round trip, routed by the keys' hash slot. An out-of-memory refusal is
    /// returned as <see langword="null"/> when <paramref name="oomIsAnswer"/> (the send operations
    /// answer <see cref="SendGateStatus.CapacityExceeded"/>); every other fault throws
    /// <see cref="OtpStoreUnavailableException"/>.
    /// </summary>
    // Pooled: its state machine, boxed while the reply is awaited, is reused instead of allocated per call.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RedisResult?> RunAsync(StoreScript script, RedisKey[] keys, RedisValue[] args, string operation, CancellationToken cancellationToken, bool oomIsAnswer = false)
    {
        try
        {
            var database = await _source.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // EVALSHA by the hash computed once: no per-call hashing or lookup of the text.
                return await Until(database.ScriptEvaluateAsync(script.Hash, keys, args), cancellationToken).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The server does not know the script (restarted, failed over, SCRIPT FLUSH): nothing
                // ran. Send the text; StackExchange.Redis loads it and the next EVALSHA finds it.
                return await Until(database.ScriptEvaluateAsync(script.Text, keys, args), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (RedisServerException ex) when (oomIsAnswer && ex.Message.StartsWith("OOM", StringComparison.Ordinal))
        {
            // maxmemory reached: Redis refused the whole script (it declares writes), so nothing ran.
            return null;
        }
        catch (RedisServerException ex)
        {
            throw new OtpStoreUnavailableException($"Redis failed the {operation} script: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or RedisCommandException or ObjectDisposedException)
        {
            throw new OtpStoreUnavailableException($"The Redis store is unavailable ({operation}): {ex.GetType().Name}.", ex);
        }
    }

    /// <summary>The reply, or a cancelled wait when <paramref name="cancellationToken"/> fires first (the command may still run); no wrapper when the token cannot fire.</summary>
    private static Task<T> Until<T>(Task<T> reply, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? reply.WaitAsync(cancellationToken) : reply;

    private static RedisResult[] Elements(RedisResult reply, string operation) =>
        reply.Resp2Type == ResultType.Array && !reply.IsNull && (RedisResult[]?)reply is { Length: >= 1 } values ? values : throw Malformed(operation);

    private static bool Flag(RedisResult reply, string operation) =>
        reply.Resp2Type == ResultType.Integer ? AsInt64(reply) == 1 : throw Malformed(operation);

    private static long AsInt64(RedisResult reply)
    {
        try
        {
            return (long)reply;
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException)
        {
            throw Malformed("a", ex);
        }
    }

    private static SendGateResult Gate(RedisResult? reply)
    {
        if (reply is null)
        {
            return new SendGateResult(SendGateStatus.CapacityExceeded);
        }

        var values = Elements(reply, "send");
        if (values.Length < 2)
        {
            throw Malformed("send");
        }

        var status = (SendGateStatus)AsInt64(values[0]);
        return status switch
        {
            SendGateStatus.Allowed or SendGateStatus.NotFound => new SendGateResult(status),
            SendGateStatus.TooFrequent or SendGateStatus.RateLimited => new SendGateResult(status, TimeSpan.FromTicks(AsInt64(values[1]))),
            _ => throw Malformed("send"),
        };
    }

    private static (OtpDestination[] Destinations, string? DeviceId, string FlowId, byte[] Payload) Open(PendingKey key, RedisResult value)
    {
        try
        {
            return RegistrationEnvelope.Open(key, (byte[]?)value ?? throw new InvalidDataException("The stored registration has no payload."));
        }
        catch (InvalidDataException ex)
        {
            throw new OtpStoreUnavailableException("A registration stored in Redis could not be read.", ex);
        }
    }

    private static OtpStoreUnavailableException Malformed(string operation, Exception? inner = null) => inner is null
        ? new($"Redis answered the {operation} script with a reply this version does not understand.")
        : new($"Redis answered the {operation} script with a reply this version does not understand.", inner);
}
