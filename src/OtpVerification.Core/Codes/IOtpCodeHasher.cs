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
}

/// <summary>HMAC-SHA256 over purpose, address and code with a secret key.</summary>
public sealed class HmacOtpCodeHasher : IOtpCodeHasher
{
    private readonly byte[] _key;

    /// <summary>Creates a hasher with the key from <c>OtpSignup:Code:HashKey</c>, or a random per-process key when it is unset.</summary>
    /// <param name="options">The options holding the key.</param>
    public HmacOtpCodeHasher(IOptions<OtpSignupOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value.Code.HashKey;
        _key = string.IsNullOrEmpty(configured) ? RandomNumberGenerator.GetBytes(32) : Convert.FromBase64String(configured);
        IsKeyConfigured = !string.IsNullOrEmpty(configured);
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
    }

    /// <summary><see langword="true"/> when the key came from configuration rather than being drawn at random for this process.</summary>
    public bool IsKeyConfigured { get; }

    /// <inheritdoc />
    public int HashSize => HMACSHA256.HashSizeInBytes;

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
