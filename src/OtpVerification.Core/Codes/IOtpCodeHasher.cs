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
    /// Every hash a stored code may have been made with, for verifying in one store call: first
    /// the current key's (equal to <see cref="Hash"/>), then, during a key rotation, the previous
    /// key's. A stored hash matches at most one of them.
    /// </summary>
    /// <param name="purpose">The code's purpose.</param>
    /// <param name="address">The normalised address the entry is keyed by.</param>
    /// <param name="code">The code as typed (surrounding white space is ignored).</param>
    /// <returns>One or more new arrays of <see cref="HashSize"/> bytes, the current key's first. The default returns <see cref="Hash"/> alone.</returns>
    IReadOnlyList<byte[]> HashCandidates(OtpPurpose purpose, string address, ReadOnlySpan<char> code) => [Hash(purpose, address, code)];

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

/// <summary>
/// HMAC-SHA256 over purpose, address and code with a secret key; during a rotation, the previous
/// key's hash is a second candidate. Store key names (<see cref="KeyName"/>) come from a key of
/// their own, derived from <c>OtpSignup:Code:KeyNameKey</c> or, when it is unset, from the code
/// key, so a rotation that keeps <c>KeyNameKey</c> never renames an entry.
/// </summary>
public sealed class HmacOtpCodeHasher : IOtpCodeHasher
{
    private readonly byte[] _key;
    private readonly byte[]? _previousKey;
    private readonly byte[] _nameKey;

    /// <summary>
    /// Creates a hasher from <c>OtpSignup:Code:HashKey</c> (a random per-process key when it is
    /// unset), <c>OtpSignup:Code:PreviousHashKey</c> and <c>OtpSignup:Code:KeyNameKey</c>.
    /// </summary>
    /// <param name="options">The options holding the keys (validated at start-up).</param>
    /// <exception cref="FormatException">A configured key is not base64 (start-up validation reports it first, naming the key).</exception>
    public HmacOtpCodeHasher(IOptions<OtpVerificationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var code = options.Value.Code;
        IsKeyConfigured = !OtpVerificationOptionsValidator.IsUnset(code.HashKey);
        _key = IsKeyConfigured ? Convert.FromBase64String(code.HashKey!) : RandomNumberGenerator.GetBytes(32);
        _previousKey = IsKeyConfigured && !OtpVerificationOptionsValidator.IsUnset(code.PreviousHashKey) ? Convert.FromBase64String(code.PreviousHashKey) : null;
        _nameKey = DeriveNameKey(OtpVerificationOptionsValidator.IsUnset(code.KeyNameKey) ? _key : Convert.FromBase64String(code.KeyNameKey));
    }

    /// <summary>Creates a hasher with an explicit key; key names are derived from it.</summary>
    /// <param name="key">At least 32 secret bytes.</param>
    /// <exception cref="ArgumentException">The key is shorter than 32 bytes.</exception>
    public HmacOtpCodeHasher(byte[] key)
        : this(key, previousKey: null, keyNameKey: null)
    {
    }

    /// <summary>Creates a hasher with explicit keys, for a rotation.</summary>
    /// <param name="key">The current key: at least 32 secret bytes.</param>
    /// <param name="previousKey">The key <paramref name="key"/> replaced, whose hashes still verify; or null.</param>
    /// <param name="keyNameKey">The key store key names are derived from; null: <paramref name="key"/>.</param>
    /// <exception cref="ArgumentException">A key is shorter than 32 bytes.</exception>
    public HmacOtpCodeHasher(byte[] key, byte[]? previousKey, byte[]? keyNameKey)
    {
        _key = CheckedCopy(key, nameof(key));
        _previousKey = previousKey is null ? null : CheckedCopy(previousKey, nameof(previousKey));
        _nameKey = DeriveNameKey(keyNameKey is null ? _key : CheckedCopy(keyNameKey, nameof(keyNameKey)));
        IsKeyConfigured = true;
    }

    /// <summary><see langword="true"/> when the key came from configuration rather than being drawn at random for this process.</summary>
    public bool IsKeyConfigured { get; }

    /// <summary><see langword="true"/> during a rotation: a previous key is configured and <see cref="HashCandidates"/> returns its hash too.</summary>
    public bool HasPreviousKey => _previousKey is not null;

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
            Mac(_nameKey, buffer[..n], mac);
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

    /// <summary>
    /// HMAC-SHA256 of <paramref name="data"/> under <paramref name="key"/> into <paramref name="destination"/>,
    /// through an HMAC kept per thread for each of its last few keys: the one-shot
    /// <see cref="HMACSHA256.HashData(byte[], byte[])"/> sets up a new native context (and looks the
    /// algorithm up) on every call, which costs about as much again as the MAC itself.
    /// </summary>
    private static void Mac(byte[] key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var mac = PerThreadByKey<IncrementalHash>.Get(key, static k => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k));
        mac.AppendData(data);
        if (!mac.TryGetHashAndReset(destination, out var written) || written != HMACSHA256.HashSizeInBytes)
        {
            throw new CryptographicException("The HMAC did not produce a full hash.");
        }
    }

    /// <summary>A key for <see cref="KeyName"/> of its own (HKDF), so a name never equals a code hash.</summary>
    private static byte[] DeriveNameKey(byte[] key)
        => HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, salt: null, info: "OtpVerification key names"u8.ToArray());

    private static byte[] CheckedCopy(byte[] key, string name)
    {
        ArgumentNullException.ThrowIfNull(key, name);
        if (key.Length < 32)
        {
            throw new ArgumentException("A code hash key must be at least 32 bytes.", name);
        }

        return (byte[])key.Clone();
    }

    /// <inheritdoc />
    public byte[] Hash(OtpPurpose purpose, string address, ReadOnlySpan<char> code) => Hash(_key, purpose, address, code);

    /// <inheritdoc />
    public IReadOnlyList<byte[]> HashCandidates(OtpPurpose purpose, string address, ReadOnlySpan<char> code)
        => _previousKey is null
            ? [Hash(_key, purpose, address, code)]
            : [Hash(_key, purpose, address, code), Hash(_previousKey, purpose, address, code)];

    private static byte[] Hash(byte[] key, OtpPurpose purpose, string address, ReadOnlySpan<char> code)
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
            Mac(key, buffer[..n], hash);
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
