using System.Security.Cryptography;
using System.Text;

namespace OtpVerification.Redis.Connection;

/// <summary>A Lua script and the SHA1 Redis knows it by.</summary>
internal sealed class RedisScript
{
    public RedisScript(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        Body = Encoding.UTF8.GetBytes(source);
#pragma warning disable CA5350 // SHA1 is how Redis names scripts (EVALSHA); no security depends on it.
        Sha1 = Convert.ToHexStringLower(SHA1.HashData(Body));
#pragma warning restore CA5350
    }

    /// <summary>The script's UTF-8 source.</summary>
    public byte[] Body { get; }

    /// <summary>The lower-case hex SHA1 of <see cref="Body"/>.</summary>
    public string Sha1 { get; }
}
