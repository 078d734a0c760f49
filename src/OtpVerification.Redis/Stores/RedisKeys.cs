using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Stores;

/// <summary>
/// The keys of one address: <c>{prefix}{{purpose}:{hash}}:reg</c>, <c>…:pay</c> and <c>…:lim</c>.
/// The hash is the first 128 bits of SHA-256 over the UTF-8 address, base64url (22 characters):
/// no key holds the address itself, collisions are out of reach, and the key name fits a smaller
/// allocation than the full 43 characters would (16 bytes less per key, measured). The braces are
/// a Redis Cluster hash tag, so the three keys share a slot and one script may touch them all.
/// </summary>
/// <param name="Registration">The registration hash.</param>
/// <param name="Payload">The sealed destinations and protected payload.</param>
/// <param name="Limits">The send-limit sorted set; it outlives the registration.</param>
/// <param name="ReplacedRegistration">The registration a restart replaced, kept so that undoing the restart's send can put it back; dropped by the next send, a successful verify or a delete, and expiring with the registration it holds.</param>
/// <param name="ReplacedPayload">Its payload.</param>
internal readonly record struct RedisKeys(string Registration, string Payload, string Limits, string ReplacedRegistration, string ReplacedPayload)
{
    public static RedisKeys For(string prefix, PendingKey key)
    {
        ArgumentNullException.ThrowIfNull(key.Address);
        var tag = Tag(prefix, key);
        return new RedisKeys(tag + ":reg", tag + ":pay", tag + ":lim", tag + ":oreg", tag + ":opay");
    }

    /// <summary>The part of every key up to and including the hash tag.</summary>
    public static string Tag(string prefix, PendingKey key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var max = Encoding.UTF8.GetMaxByteCount(key.Address.Length);
        byte[]? rented = null;
        try
        {
            if (max <= 512)
            {
                Span<byte> utf8 = stackalloc byte[512];
                SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(key.Address, utf8)], hash);
            }
            else
            {
                rented = Encoding.UTF8.GetBytes(key.Address);
                SHA256.HashData(rented, hash);
            }
        }
        finally
        {
            rented?.AsSpan().Clear();
        }

        return string.Concat(prefix, "{", PurposeName(key.Purpose), ":", Base64Url.EncodeToString(hash[..16]), "}");
    }

    private static string PurposeName(OtpPurpose purpose) => purpose switch
    {
        OtpPurpose.Signup => "signup",
        OtpPurpose.PasswordReset => "reset",
        OtpPurpose.SignIn => "signin",
        _ => ((int)purpose).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
