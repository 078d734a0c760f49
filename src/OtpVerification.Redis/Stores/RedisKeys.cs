using System.Text;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis.Stores;

/// <summary>
/// The keys of one address: <c>{prefix}{{purpose}:{name}}:reg</c>, <c>…:pay</c>, <c>…:lim</c>,
/// <c>…:oreg</c> and <c>…:opay</c>. The name is <see cref="IOtpCodeHasher.KeyName"/>: 128 bits of
/// an HMAC of purpose and address under a secret key, so no key holds the address, and neither a
/// list of emails nor the IPv4 space can be hashed to find which addresses have entries (an
/// unkeyed hash could be). The braces are a Redis Cluster hash tag, so the keys of one address
/// share a slot and one script may touch them all.
/// </summary>
/// <param name="Registration">The registration hash.</param>
/// <param name="Payload">The sealed destinations and protected payload.</param>
/// <param name="Limits">The send-limit sorted set; it outlives the registration.</param>
/// <param name="ReplacedRegistration">The registration a restart replaced, kept so that undoing the restart's send can put it back; dropped by the next send, a successful verify or a delete, and expiring with the registration it holds.</param>
/// <param name="ReplacedPayload">Its payload.</param>
/// <remarks>
/// Each key is a <see cref="RedisKey"/> made of the tag's bytes (built once per operation) and a
/// constant suffix, so the five keys cost one small array, not five strings.
/// </remarks>
internal readonly record struct RedisKeys(RedisKey Registration, RedisKey Payload, RedisKey Limits, RedisKey ReplacedRegistration, RedisKey ReplacedPayload)
{
    private static readonly RedisKey RegistrationSuffix = ":reg";
    private static readonly RedisKey PayloadSuffix = ":pay";
    private static readonly RedisKey LimitsSuffix = ":lim";
    private static readonly RedisKey ReplacedRegistrationSuffix = ":oreg";
    private static readonly RedisKey ReplacedPayloadSuffix = ":opay";

    public static RedisKeys For(string prefix, PendingKey key, IOtpCodeHasher hasher)
    {
        RedisKey tag = TagBytes(prefix, key, hasher);
        return new RedisKeys(
            RegistrationSuffix.Prepend(tag),
            PayloadSuffix.Prepend(tag),
            LimitsSuffix.Prepend(tag),
            ReplacedRegistrationSuffix.Prepend(tag),
            ReplacedPayloadSuffix.Prepend(tag));
    }

    /// <summary>The limits key alone (the per-client and per-destination checks touch nothing else).</summary>
    public static RedisKey LimitsFor(string prefix, PendingKey key, IOtpCodeHasher hasher) => LimitsSuffix.Prepend(TagBytes(prefix, key, hasher));

    private static readonly RedisKey UsedSuffix = ":used";

    /// <summary>The single-use mark of a token (<c>…:used</c>, <see cref="IPendingRegistrationStore.ConsumeOnceAsync"/>).</summary>
    public static RedisKey UsedFor(string prefix, PendingKey key, IOtpCodeHasher hasher) => UsedSuffix.Prepend(TagBytes(prefix, key, hasher));

    /// <summary>The part of every key up to and including the hash tag, as UTF-8 bytes written straight into one array.</summary>
    private static byte[] TagBytes(string prefix, PendingKey key, IOtpCodeHasher hasher)
    {
        ArgumentNullException.ThrowIfNull(key.Address);
        ArgumentNullException.ThrowIfNull(hasher);
        var purpose = PurposeName(key.Purpose);
        var name = hasher.KeyName(key.Purpose, key.Address);
        var bytes = new byte[Encoding.UTF8.GetByteCount(prefix) + 1 + purpose.Length + 1 + Encoding.UTF8.GetByteCount(name) + 1];
        var span = bytes.AsSpan();
        var n = Encoding.UTF8.GetBytes(prefix, span);
        span[n++] = (byte)'{';
        n += Encoding.UTF8.GetBytes(purpose, span[n..]);
        span[n++] = (byte)':';
        n += Encoding.UTF8.GetBytes(name, span[n..]);
        span[n] = (byte)'}';
        return bytes;
    }

    private static string PurposeName(OtpPurpose purpose) => purpose switch
    {
        OtpPurpose.Signup => "signup",
        OtpPurpose.PasswordReset => "reset",
        OtpPurpose.SignIn => "signin",
        OtpPurpose.PhoneVerification => "phone",
        _ => ((int)purpose).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
