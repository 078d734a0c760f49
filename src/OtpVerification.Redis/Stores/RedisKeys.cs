using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Redis.Stores;

/// <summary>
/// The keys of one address: <c>{prefix}{{purpose}:{name}}:reg</c>, <c>…:pay</c> and <c>…:lim</c>.
/// The name is <see cref="IOtpCodeHasher.KeyName"/>: 128 bits of an HMAC under the app's secret
/// key, base64url (22 characters). No key holds the address, and without the secret key a list of
/// emails or the IPv4 space cannot be hashed to find which addresses have entries. The braces are
/// a Redis Cluster hash tag, so the three keys share a slot and one script may touch them all.
/// </summary>
/// <param name="Registration">The registration hash.</param>
/// <param name="Payload">The sealed destinations and protected payload.</param>
/// <param name="Limits">The send-limit hash; it outlives the registration.</param>
internal readonly record struct RedisKeys(RedisKey Registration, RedisKey Payload, RedisKey Limits)
{
    public static RedisKeys For(string prefix, IOtpCodeHasher hasher, PendingKey key)
    {
        var tag = Tag(prefix, hasher, key);
        return new RedisKeys(tag + ":reg", tag + ":pay", tag + ":lim");
    }

    /// <summary>The part of every key up to and including the hash tag.</summary>
    public static string Tag(string prefix, IOtpCodeHasher hasher, PendingKey key)
    {
        ArgumentNullException.ThrowIfNull(key.Address);
        return string.Concat(prefix, "{", PurposeName(key.Purpose), ":", hasher.KeyName(key.Purpose, key.Address), "}");
    }

    private static string PurposeName(OtpPurpose purpose) => purpose switch
    {
        OtpPurpose.Signup => "signup",
        OtpPurpose.PasswordReset => "reset",
        OtpPurpose.SignIn => "signin",
        _ => ((int)purpose).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
