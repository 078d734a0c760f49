using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using OtpVerification.Redis.Connection;
using OtpVerification.Redis.Stores;
using OtpVerification.Stores;

namespace OtpVerification.Redis;

/// <summary>
/// A pending-registration store in Redis, shared by every app instance: each operation is one
/// atomic Lua script (one round trip, <c>EVALSHA</c>), so the cooldown, the hourly limit, the
/// attempt cap and single use hold across processes. It behaves exactly as
/// <see cref="InMemoryPendingRegistrationStore"/>, except that it has no entry cap of its own:
/// when Redis refuses writes for lack of memory (<c>maxmemory</c>), sends are refused with
/// <see cref="SendGateStatus.CapacityExceeded"/>.
/// </summary>
/// <remarks>
/// <para>
/// The keys of one address share a Redis Cluster hash tag and hold no plaintext: the address
/// appears only as a hash in key names, the code only as its keyed hash, the destinations
/// and device id sealed, the payload as the protected bytes the app gave. Every key expires (the
/// registration with the entry, the send limits at the end of the window and the cooldown).
/// Registered by <c>AddRedisStore</c>; it uses the connection registered with it.
/// </para>
/// <para>
/// Cancellation stops the wait for the reply; a script already sent may still run.
/// </para>
/// </remarks>
public sealed class RedisPendingRegistrationStore : IDistributedPendingRegistrationStore, IOtpStoreHealth
{
    private readonly IRedisConnection _connection;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;
    private readonly IOtpCodeHasher _hasher;

    internal RedisPendingRegistrationStore(IRedisConnection connection, string keyPrefix, TimeProvider? timeProvider = null, IOtpCodeHasher? hasher = null)
    {
        // Tests and benchmarks may leave the hasher out: a fixed key, so that stores on one server share names.
        _hasher = hasher ?? new HmacOtpCodeHasher(new byte[32]);
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
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
        RedisArg[] args =
        [
            Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks,
            .. RegistrationFields(registration),
        ];
        var reply = await RunAsync(RedisStoreScripts.Create, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "create", cancellationToken).ConfigureAwait(false);
        return reply.IsError ? Refused(reply, "create") : Gate(reply);
    }

    /// <inheritdoc />
    public async ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        RedisArg[] args = [Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks];
        var reply = await RunAsync(RedisStoreScripts.Reserve, [keys.Limits], args, "reserve", cancellationToken).ConfigureAwait(false);
        return reply.IsError ? Refused(reply, "reserve") : Gate(reply);
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
        RedisArg[] args =
        [
            Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks,
            code.CodeHash, Instant(code.CodeExpiresAt), code.MaxAttempts, code.ProtectedCode ?? [],
            code.ReuseWhileRemaining is { } remaining ? remaining.Ticks.ToString(CultureInfo.InvariantCulture) : string.Empty,
        ];
        var reply = await RunAsync(RedisStoreScripts.Resend, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "resend", cancellationToken).ConfigureAwait(false);
        if (reply.IsError)
        {
            return Refused(reply, "resend");
        }

        var gate = Gate(reply);
        if (gate.Status != SendGateStatus.Allowed)
        {
            return gate;
        }

        var values = reply.Elements!;
        var (destinations, deviceId, flowId, payload) = Open(key, values[5]);
        var protectedCode = values[9].Bytes;
        return gate with
        {
            Registration = new PendingRegistration
            {
                Key = key,
                FlowId = flowId,
                CodeHash = values[6].Bytes ?? throw Malformed("resend"),
                ProtectedCode = protectedCode is { Length: > 0 } ? protectedCode : null,
                CodeExpiresAt = ParseInstant(values[2]),
                ExpiresAt = ParseInstant(values[3]),
                AttemptsLeft = checked((int)values[7].AsInt64()),
                Destinations = destinations,
                DeliveredTo = DeliveredTo(key, values[8], destinations),
                DeviceId = deviceId,
                Decoy = values[4].AsString() == "1",
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
        var reply = await RunAsync(RedisStoreScripts.Redirect, [keys.Registration], [expectedCodeHash, codeHash, RegistrationEnvelope.SealDestination(key, destination), Instant(_time.GetUtcNow()), protectedCode ?? []], "redirect", cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, "redirect");
        return reply.Kind == RedisReplyKind.Integer ? reply.Integer == 1 : throw Malformed("redirect");
    }

    /// <inheritdoc />
    public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flowId);
        ArgumentNullException.ThrowIfNull(codeHashes);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        var args = new RedisArg[4 + codeHashes.Count];
        args[0] = Instant(now);
        args[1] = FlowHash(flowId);
        args[2] = DeviceHash(deviceId);
        args[3] = codeHashes.Count;
        for (var j = 0; j < codeHashes.Count; j++)
        {
            args[4 + j] = codeHashes[j] ?? [];
        }

        var reply = await RunAsync(RedisStoreScripts.Verify, [keys.Registration, keys.Payload, keys.ReplacedRegistration, keys.ReplacedPayload], args, "verify", cancellationToken).ConfigureAwait(false);
        var values = Expect(reply, "verify");
        var status = (StoreVerifyStatus)values[0].AsInt64();
        switch (status)
        {
            case StoreVerifyStatus.Success:
                var (destinations, storedDevice, storedFlow, payload) = Open(key, values[5]);
                var consumed = new PendingRegistration
                {
                    Key = key,
                    FlowId = storedFlow,
                    CodeHash = values[7].Bytes ?? throw Malformed("verify"),
                    CodeExpiresAt = ParseInstant(values[2]),
                    ExpiresAt = ParseInstant(values[3]),
                    AttemptsLeft = checked((int)values[4].AsInt64()),
                    Destinations = destinations,
                    DeliveredTo = DeliveredTo(key, values[6], destinations),
                    DeviceId = storedDevice,
                    Payload = payload,
                };
                return new StoreVerifyResult(status, checked((int)values[1].AsInt64()), consumed);
            case StoreVerifyStatus.Invalid:
                return new StoreVerifyResult(status, checked((int)values[1].AsInt64()));
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
        RedisArg[] args = [Instant(_time.GetUtcNow()), codeHash];
        var reply = await RunAsync(RedisStoreScripts.CancelSend, [keys.Registration, keys.Payload, keys.Limits, keys.ReplacedRegistration, keys.ReplacedPayload], args, "cancel-send", cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, "cancel-send");
    }

    /// <inheritdoc />
    public async ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, registration.Key, _hasher);
        RedisArg[] args = [Instant(now), .. RegistrationFields(registration)];

        var reply = await RunAsync(RedisStoreScripts.PutBack, [keys.Registration, keys.Payload], args, "put-back", cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, "put-back");
        return reply.Kind == RedisReplyKind.Integer ? reply.Integer == 1 : throw Malformed("put-back");
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, key, _hasher);
        var reply = await RunAsync(RedisStoreScripts.Delete, [keys.Registration, keys.Payload, keys.ReplacedRegistration, keys.ReplacedPayload], [Instant(_time.GetUtcNow())], "delete", cancellationToken).ConfigureAwait(false);
        ThrowIfError(reply, "delete");
        return reply.Kind == RedisReplyKind.Integer ? reply.Integer == 1 : throw Malformed("delete");
    }

    /// <summary>An instant as the scripts take it: ticks since <see cref="Epoch"/>.</summary>
    internal static string Instant(DateTimeOffset value) => (value.UtcTicks - Epoch.UtcTicks).ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseInstant(RedisReply reply) => new(Epoch.UtcTicks + reply.AsInt64(), TimeSpan.Zero);

    /// <summary>A registration's fields as Create and PutBack take them: hash, code expiry, expiry, attempts, device hash, flow hash, sealed destination, decoy, sealed payload, protected code.</summary>
    private static RedisArg[] RegistrationFields(PendingRegistration registration) =>
    [
        registration.CodeHash, Instant(registration.CodeExpiresAt), Instant(registration.ExpiresAt),
        registration.AttemptsLeft, DeviceHash(registration.DeviceId), FlowHash(registration.FlowId),
        registration.Destinations.Count > 0 && registration.Destinations[0] == registration.DeliveredTo ? Array.Empty<byte>() : RegistrationEnvelope.SealDestination(registration.Key, registration.DeliveredTo),
        registration.Decoy ? "1" : string.Empty, RegistrationEnvelope.Seal(registration),
        registration.ProtectedCode ?? [],
    ];

    private static OtpDestination DeliveredTo(PendingKey key, RedisReply sealedDestination, OtpDestination[] destinations)
    {
        var bytes = sealedDestination.Bytes;
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
        RedisReply reply;
        try
        {
            reply = await _connection.ExecuteAsync(["PING"], cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            throw new OtpStoreUnavailableException("The Redis store's connection is closed (ping).", ex);
        }

        if (reply.IsError)
        {
            throw new OtpStoreUnavailableException($"Redis answered PING with an error: {reply.ErrorMessage}");
        }
    }

    private async ValueTask<RedisReply> RunAsync(RedisScript script, RedisArg[] keys, RedisArg[] args, string operation, CancellationToken cancellationToken)
    {
        try
        {
            return await _connection.EvalShaAsync(script, keys, args, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            throw new OtpStoreUnavailableException($"The Redis store's connection is closed ({operation}).", ex);
        }
    }

    private static SendGateResult Gate(RedisReply reply)
    {
        var values = reply.Kind == RedisReplyKind.Array && reply.Elements is { Length: >= 2 } elements ? elements : throw Malformed("send");
        var status = (SendGateStatus)values[0].AsInt64();
        return status switch
        {
            SendGateStatus.Allowed or SendGateStatus.NotFound => new SendGateResult(status),
            SendGateStatus.TooFrequent or SendGateStatus.RateLimited => new SendGateResult(status, TimeSpan.FromTicks(values[1].AsInt64())),
            _ => throw Malformed("send"),
        };
    }

    private static SendGateResult Refused(RedisReply reply, string operation)
    {
        // maxmemory reached: the script's first write was refused, so nothing was written.
        if (reply.ErrorMessage!.StartsWith("OOM", StringComparison.Ordinal))
        {
            return new SendGateResult(SendGateStatus.CapacityExceeded);
        }

        ThrowIfError(reply, operation);
        return default;
    }

    private static RedisReply[] Expect(RedisReply reply, string operation)
    {
        ThrowIfError(reply, operation);
        return reply.Kind == RedisReplyKind.Array && reply.Elements is { Length: >= 1 } values ? values : throw Malformed(operation);
    }

    private static void ThrowIfError(RedisReply reply, string operation)
    {
        if (reply.IsError)
        {
            throw new OtpStoreUnavailableException($"Redis failed the {operation} script: {reply.ErrorMessage}");
        }
    }

    private static (OtpDestination[] Destinations, string? DeviceId, string FlowId, byte[] Payload) Open(PendingKey key, RedisReply value)
    {
        try
        {
            return RegistrationEnvelope.Open(key, value.Bytes ?? throw new InvalidDataException("The stored registration has no payload."));
        }
        catch (InvalidDataException ex)
        {
            throw new OtpStoreUnavailableException("A registration stored in Redis could not be read.", ex);
        }
    }

    private static OtpStoreUnavailableException Malformed(string operation) =>
        new($"Redis answered the {operation} script with a reply this version does not understand.");
}
