using OtpVerification.Stores;

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
internal readonly record struct RedisKeys(string Registration, string Payload, string Limits, string ReplacedRegistration, string ReplacedPayload)
{
    public static RedisKeys For(string prefix, PendingKey key, IOtpCodeHasher hasher)
    {
        var tag = Tag(prefix, key, hasher);
        return new RedisKeys(tag + ":reg", tag + ":pay", tag + ":lim", tag + ":oreg", tag + ":opay");
    }

    /// <summary>The part of every key up to and including the hash tag.</summary>
    public static string Tag(string prefix, PendingKey key, IOtpCodeHasher hasher)
    {
        ArgumentNullException.ThrowIfNull(key.Address);
        ArgumentNullException.ThrowIfNull(hasher);
        return string.Concat(prefix, "{", PurposeName(key.Purpose), ":", hasher.KeyName(key.Purpose, key.Address), "}");
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
