using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Turns a code into the keyed hash a store keeps. The hash binds the code to its purpose and
/// address, so a stored hash is useless for any other entry, and without the key the hash of a
/// short numeric code cannot be searched offline.
/// </summary>
public interface IOtpCodeHasher
{
    /// <summary>The length in bytes of every hash this hasher returns.</summary>
    int HashSize { get; }

    /// <summary>Computes the hash of <paramref name="code"/> for one purpose and address.</summary>
    /// <param name="purpose">The code's purpose.</param>
    /// <param name="address">The normalised address the entry is keyed by.</param>
    /// <param name="code">The code as typed (surrounding white space is ignored).</param>
    /// <returns>A new array of <see cref="HashSize"/> bytes.</returns>
    byte[] Hash(OtpPurpose purpose, string address, ReadOnlySpan<char> code);

    /// <summary>
    /// A keyed, irreversible name for a purpose and address, for stores that keep entries under
    /// names an operator can read (Redis keys): without the key, a list of emails or the IPv4
    /// space cannot be hashed to find which addresses have entries.
    /// </summary>
    /// <param name="purpose">The purpose.</param>
    /// <param name="address">The normalised address (or another key such as a client id).</param>
    /// <returns>22 characters of base64url (128 bits of an HMAC-SHA256).</returns>
    string KeyName(OtpPurpose purpose, string address);
}

/// <summary>HMAC-SHA256 over purpose, address and code with a secret key.</summary>
public sealed class HmacOtpCodeHasher : IOtpCodeHasher
{
    private readonly byte[] _key;
    private readonly byte[] _nameKey;

    /// <summary>Creates a hasher with the key from <c>OtpSignup:Code:HashKey</c>, or a random per-process key when it is unset.</summary>
    /// <param name="options">The options holding the key.</param>
    public HmacOtpCodeHasher(IOptions<OtpSignupOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value.Code.HashKey;
        _key = string.IsNullOrEmpty(configured) ? RandomNumberGenerator.GetBytes(32) : Convert.FromBase64String(configured);
        IsKeyConfigured = !string.IsNullOrEmpty(configured);
        _nameKey = DeriveNameKey(_key);
    }

    /// <summary>Creates a hasher with an explicit key.</summary>
    /// <param name="key">At least 32 secret bytes.</param>
    /// <exception cref="ArgumentException">The key is shorter than 32 bytes.</exception>
    public HmacOtpCodeHasher(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length < 32)
        {
            throw new ArgumentException("The code hash key must be at least 32 bytes.", nameof(key));
        }

        _key = (byte[])key.Clone();
        IsKeyConfigured = true;
        _nameKey = DeriveNameKey(_key);
    }

    /// <summary><see langword="true"/> when the key came from configuration rather than being drawn at random for this process.</summary>
    public bool IsKeyConfigured { get; }

    /// <inheritdoc />
    public int HashSize => HMACSHA256.HashSizeInBytes;

    /// <inheritdoc />
    public string KeyName(OtpPurpose purpose, string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var max = 1 + Encoding.UTF8.GetMaxByteCount(address.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            buffer[0] = (byte)purpose;
            var n = 1 + Encoding.UTF8.GetBytes(address, buffer[1..]);
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_nameKey, buffer[..n], mac);
            CryptographicOperations.ZeroMemory(buffer[..n]);
            return System.Buffers.Text.Base64Url.EncodeToString(mac[..16]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A key for <see cref="KeyName"/> of its own (HKDF), so a name never equals a code hash.</summary>
    private static byte[] DeriveNameKey(byte[] key)
        => HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, salt: null, info: "OtpVerification key names"u8.ToArray());

    /// <inheritdoc />
    public byte[] Hash(OtpPurpose purpose, string address, ReadOnlySpan<char> code)
    {
        ArgumentNullException.ThrowIfNull(address);
        code = code.Trim();
        var max = 2 + Encoding.UTF8.GetMaxByteCount(address.Length) + Encoding.UTF8.GetMaxByteCount(code.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = 0;
            buffer[n++] = (byte)purpose;
            n += Encoding.UTF8.GetBytes(address, buffer[n..]);
            buffer[n++] = 0;
            n += Encoding.UTF8.GetBytes(code, buffer[n..]);
            var hash = new byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_key, buffer[..n], hash);
            CryptographicOperations.ZeroMemory(buffer[..n]);
            return hash;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
