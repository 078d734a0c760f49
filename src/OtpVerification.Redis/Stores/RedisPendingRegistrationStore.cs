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
/// the hourly limit, the attempt cap and single use hold across processes, on a standalone server,
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
/// as its keyed hash, the destinations and device id sealed, the payload as the protected bytes the
/// app gave. Every key expires (the registration with the entry, the send limits at the end of the
/// window and the cooldown). Registered by <c>AddRedisStore</c>.
/// </para>
/// <para>
/// Every fault of Redis or of the connection (unreachable, timed out, failing over, out of memory,
/// disposed) surfaces as <see cref="OtpStoreUnavailableException"/>.
/// </para>
/// <para>
/// Cancellation stops the wait for the reply; a script already sent may still run.
/// </para>
/// </remarks>
public sealed class RedisPendingRegistrationStore : IPendingRegistrationStore
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

    /// <inheritdoc />
    public async ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(registration.CodeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, registration.Key);
        RedisValue[] args =
        [
            Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks,
            (RedisValue)registration.CodeHash, Instant(registration.CodeExpiresAt), Instant(registration.ExpiresAt),
            registration.AttemptsLeft, DeviceHash(registration.DeviceId), RegistrationEnvelope.Seal(registration),
        ];
        var reply = await RunAsync(RedisStoreScripts.Create, [keys.Registration, keys.Payload, keys.Limits], args, "create", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        return Gate(reply);
    }

    /// <inheritdoc />
    public async ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, key);
        RedisValue[] args = [Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks];
        var reply = await RunAsync(RedisStoreScripts.Reserve, [keys.Limits], args, "reserve", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        return Gate(reply);
    }

    /// <inheritdoc />
    public async ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] codeHash, DateTimeOffset codeExpiresAt, int maxAttempts, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, key);
        RedisValue[] args =
        [
            Instant(now), policy.Cooldown.Ticks, policy.MaxPerWindow, policy.Window.Ticks,
            (RedisValue)codeHash, Instant(codeExpiresAt), maxAttempts,
        ];
        var reply = await RunAsync(RedisStoreScripts.Resend, [keys.Registration, keys.Payload, keys.Limits], args, "resend", cancellationToken, oomIsAnswer: true).ConfigureAwait(false);
        var gate = Gate(reply);
        if (gate.Status != SendGateStatus.Allowed)
        {
            return gate;
        }

        var values = Elements(reply!, "resend");
        if (values.Length < 5)
        {
            throw Malformed("resend");
        }

        var (destinations, deviceId, payload) = Open(key, values[4]);
        return gate with
        {
            Registration = new PendingRegistration
            {
                Key = key,
                CodeHash = codeHash,
                CodeExpiresAt = ParseInstant(values[2]),
                ExpiresAt = ParseInstant(values[3]),
                AttemptsLeft = maxAttempts,
                Destinations = destinations,
                DeviceId = deviceId,
                Payload = payload,
            },
        };
    }

    /// <inheritdoc />
    public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, byte[] codeHash, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, key);
        var reply = await RunAsync(RedisStoreScripts.Verify, [keys.Registration, keys.Payload], [Instant(now), (RedisValue)codeHash, DeviceHash(deviceId)], "verify", cancellationToken).ConfigureAwait(false);
        var values = Elements(reply!, "verify");
        var status = (StoreVerifyStatus)AsInt64(values[0]);
        switch (status)
        {
            case StoreVerifyStatus.Success when values.Length >= 6:
                var (destinations, storedDevice, payload) = Open(key, values[5]);
                var consumed = new PendingRegistration
                {
                    Key = key,
                    CodeHash = (byte[])codeHash.Clone(),
                    CodeExpiresAt = ParseInstant(values[2]),
                    ExpiresAt = ParseInstant(values[3]),
                    AttemptsLeft = checked((int)AsInt64(values[4])),
                    Destinations = destinations,
                    DeviceId = storedDevice,
                    Payload = payload,
                };
                return new StoreVerifyResult(status, checked((int)AsInt64(values[1])), consumed);
            case StoreVerifyStatus.Invalid when values.Length >= 2:
                return new StoreVerifyResult(status, checked((int)AsInt64(values[1])));
            case StoreVerifyStatus.NotFound or StoreVerifyStatus.Expired or StoreVerifyStatus.MaxAttempts or StoreVerifyStatus.DeviceMismatch:
                return new StoreVerifyResult(status);
            default:
                throw Malformed("verify");
        }
    }

    /// <inheritdoc />
    public async ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, bool removeRegistration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, key);
        RedisValue[] args = [Instant(_time.GetUtcNow()), (RedisValue)codeHash, removeRegistration ? "1" : "0"];
        _ = await RunAsync(RedisStoreScripts.CancelSend, [keys.Registration, keys.Payload, keys.Limits], args, "cancel-send", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var keys = RedisKeys.For(_keyPrefix, _hasher, key);
        var reply = await RunAsync(RedisStoreScripts.Delete, [keys.Registration, keys.Payload], [Instant(_time.GetUtcNow())], "delete", cancellationToken).ConfigureAwait(false);
        return reply!.Resp2Type == ResultType.Integer ? AsInt64(reply) == 1 : throw Malformed("delete");
    }

    /// <summary>An instant as the scripts take it: <see cref="DateTimeOffset.UtcTicks"/>, at least five digits.</summary>
    internal static string Instant(DateTimeOffset value) => value.UtcTicks.ToString("D5", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseInstant(RedisResult reply) => new(AsInt64(reply), TimeSpan.Zero);

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

    /// <summary>
    /// Runs one script: one round trip, routed by the keys' hash slot. An out-of-memory refusal is
    /// returned as <see langword="null"/> when <paramref name="oomIsAnswer"/> (the send operations
    /// answer <see cref="SendGateStatus.CapacityExceeded"/>); every other fault throws.
    /// </summary>
    private async ValueTask<RedisResult?> RunAsync(string script, RedisKey[] keys, RedisValue[] args, string operation, CancellationToken cancellationToken, bool oomIsAnswer = false)
    {
        try
        {
            var database = await _source.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
            var reply = database.ScriptEvaluateAsync(script, keys, args);
            return await (cancellationToken.CanBeCanceled ? reply.WaitAsync(cancellationToken) : reply).ConfigureAwait(false);
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

    private static RedisResult[] Elements(RedisResult reply, string operation) =>
        reply.Resp2Type == ResultType.Array && !reply.IsNull && (RedisResult[]?)reply is { Length: >= 1 } values ? values : throw Malformed(operation);

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

    private static (OtpDestination[] Destinations, string? DeviceId, byte[] Payload) Open(PendingKey key, RedisResult value)
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
