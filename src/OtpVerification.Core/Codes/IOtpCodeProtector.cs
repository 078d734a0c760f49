using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Encrypts a code for the one purpose that needs it back: a resend that sends the same code again
/// (<c>OtpSignup:Resend:Strategy=SameCode</c>). Verify never decrypts: it compares keyed hashes.
/// <c>OtpVerification.AspNetCore</c> registers one on ASP.NET Core Data Protection, the protection
/// of the pending payload; the Core default is AES-GCM under a key derived from
/// <c>OtpSignup:Code:HashKey</c> (random per process when it is unset).
/// </summary>
public interface IOtpCodeProtector
{
    /// <summary>Encrypts <paramref name="code"/>, bound to its purpose and entry.</summary>
    /// <param name="purpose">The code's purpose.</param>
    /// <param name="address">The address the entry is keyed by.</param>
    /// <param name="code">The code.</param>
    /// <returns>The protected bytes.</returns>
    byte[] Protect(OtpPurpose purpose, string address, string code);

    /// <summary>Decrypts a code protected for the same purpose and entry.</summary>
    /// <param name="purpose">The code's purpose.</param>
    /// <param name="address">The address the entry is keyed by.</param>
    /// <param name="protectedCode">What <see cref="Protect"/> returned.</param>
    /// <param name="code">The code when the result is <see langword="true"/>.</param>
    /// <returns><see langword="false"/> when the bytes cannot be decrypted (another key, altered, another entry).</returns>
    bool TryUnprotect(OtpPurpose purpose, string address, byte[] protectedCode, [NotNullWhen(true)] out string? code);
}

/// <summary>AES-256-GCM under a key derived (HKDF) from <c>OtpSignup:Code:HashKey</c>, the purpose and address as associated data.</summary>
public sealed class AesGcmOtpCodeProtector : IOtpCodeProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int StackLimit = 512;
    private readonly byte[] _key;
    private readonly byte[]? _previousKey;

    /// <summary>
    /// Creates the protector from <c>OtpSignup:Code:HashKey</c> (a random per-process key when it
    /// is unset); during a rotation, codes protected under <c>OtpSignup:Code:PreviousHashKey</c>
    /// still open.
    /// </summary>
    /// <param name="options">The options.</param>
    public AesGcmOtpCodeProtector(IOptions<OtpVerificationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var code = options.Value.Code;
        _key = Derive(string.IsNullOrWhiteSpace(code.HashKey) ? RandomNumberGenerator.GetBytes(32) : Convert.FromBase64String(code.HashKey));
        _previousKey = string.IsNullOrWhiteSpace(code.PreviousHashKey) ? null : Derive(Convert.FromBase64String(code.PreviousHashKey));
    }

    /// <inheritdoc />
    public byte[] Protect(OtpPurpose purpose, string address, string code)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(code);
        // Stack buffers and a cached cipher: the blob is the only allocation for the usual short code and address.
        var plainLength = Encoding.UTF8.GetByteCount(code);
        var plain = plainLength <= StackLimit ? stackalloc byte[plainLength] : new byte[plainLength];
        Encoding.UTF8.GetBytes(code, plain);
        var blob = new byte[NonceSize + TagSize + plain.Length];
        OtpRandom.Fill(blob.AsSpan(0, NonceSize));
        var length = AssociatedLength(address);
        var associated = length <= StackLimit ? stackalloc byte[length] : new byte[length];
        Cipher(_key).Encrypt(blob.AsSpan(0, NonceSize), plain, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), Associated(purpose, address, associated));
        CryptographicOperations.ZeroMemory(plain);
        return blob;
    }

    /// <inheritdoc />
    public bool TryUnprotect(OtpPurpose purpose, string address, byte[] protectedCode, [NotNullWhen(true)] out string? code)
    {
        ArgumentNullException.ThrowIfNull(address);
        code = null;
        if (protectedCode is null || protectedCode.Length < NonceSize + TagSize + 1)
        {
            return false;
        }

        return TryOpen(_key, purpose, address, protectedCode, out code)
            || (_previousKey is not null && TryOpen(_previousKey, purpose, address, protectedCode, out code));
    }

    private static byte[] Derive(byte[] secret)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: null, info: "OtpVerification code protection"u8.ToArray());
        CryptographicOperations.ZeroMemory(secret);
        return key;
    }

    private static bool TryOpen(byte[] key, OtpPurpose purpose, string address, byte[] protectedCode, [NotNullWhen(true)] out string? code)
    {
        code = null;
        var plain = new byte[protectedCode.Length - NonceSize - TagSize];
        try
        {
            var length = AssociatedLength(address);
        var associated = length <= StackLimit ? stackalloc byte[length] : new byte[length];
            Cipher(key).Decrypt(protectedCode.AsSpan(0, NonceSize), protectedCode.AsSpan(NonceSize + TagSize), protectedCode.AsSpan(NonceSize, TagSize), plain, Associated(purpose, address, associated));
            code = Encoding.UTF8.GetString(plain);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static int AssociatedLength(string address) => 1 + Encoding.UTF8.GetByteCount(address);

    /// <summary>The purpose and the address, written into <paramref name="buffer"/> (<see cref="AssociatedLength"/> bytes).</summary>
    private static ReadOnlySpan<byte> Associated(OtpPurpose purpose, string address, Span<byte> buffer)
    {
        buffer[0] = (byte)purpose;
        Encoding.UTF8.GetBytes(address, buffer[1..]);
        return buffer;
    }

    /// <summary>An <see cref="AesGcm"/> for <paramref name="key"/>, kept per thread (<see cref="PerThreadByKey{T}"/>).</summary>
    private static AesGcm Cipher(byte[] key) => PerThreadByKey<AesGcm>.Get(key, static k => new AesGcm(k, TagSize));
}
