using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Envelope encryption under ASP.NET Core Data Protection: each value is sealed with AES-256-GCM
/// under a random data key, and the data key travels beside it wrapped by Data Protection. The
/// data key is made once an hour and its unwrapped form is cached, so protecting and unprotecting
/// cost one AES-GCM operation instead of a Data Protection call each; key rotation, revocation and
/// a key ring shared by every instance work as they do for Data Protection itself (an instance
/// that cannot unwrap a data key cannot read anything sealed with it).
/// </summary>
internal sealed class EnvelopeProtector
{
    private const byte Version = 1;
    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int MaxOpenedKeys = 256;
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromHours(1);

    private readonly IDataProtector _wrapper;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, byte[]> _opened = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private DataKey? _current;

    public EnvelopeProtector(IDataProtectionProvider provider, string purpose, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _wrapper = provider.CreateProtector(purpose, "data-key.v1");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Seals <paramref name="plain"/>, bound to <paramref name="associated"/> (which is not stored).</summary>
    public byte[] Protect(ReadOnlySpan<byte> plain, ReadOnlySpan<byte> associated)
    {
        var key = Current();
        var header = 1 + 2 + key.Wrapped.Length;
        var blob = new byte[header + NonceSize + TagSize + plain.Length];
        blob[0] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(blob.AsSpan(1), (ushort)key.Wrapped.Length);
        key.Wrapped.CopyTo(blob.AsSpan(3));
        var nonce = blob.AsSpan(header, NonceSize);
        OtpRandom.Fill(nonce);
        Cipher(key.Key).Encrypt(nonce, plain, blob.AsSpan(header + NonceSize + TagSize), blob.AsSpan(header + NonceSize, TagSize), associated);
        return blob;
    }

    /// <summary>Opens a value sealed by <see cref="Protect"/> with the same associated data; the caller clears the plaintext.</summary>
    public bool TryUnprotect(byte[] blob, ReadOnlySpan<byte> associated, [NotNullWhen(true)] out byte[]? plain)
    {
        plain = null;
        if (!TryPlainLength(blob, out var length))
        {
            return false;
        }

        var output = new byte[length];
        if (!TryUnprotect(blob, associated, output))
        {
            return false;
        }

        plain = output;
        return true;
    }

    /// <summary>The length of the plaintext in <paramref name="blob"/>, if it has the shape of a sealed value.</summary>
    public static bool TryPlainLength(byte[] blob, out int length)
    {
        length = 0;
        if (blob is null || blob.Length < 3 || blob[0] != Version)
        {
            return false;
        }

        var header = 3 + BinaryPrimitives.ReadUInt16BigEndian(blob.AsSpan(1));
        length = blob.Length - header - NonceSize - TagSize;
        return length >= 0;
    }

    /// <summary>Opens a value sealed by <see cref="Protect"/> into <paramref name="output"/> (<see cref="TryPlainLength"/> bytes); on failure the output is cleared.</summary>
    public bool TryUnprotect(byte[] blob, ReadOnlySpan<byte> associated, Span<byte> output)
    {
        if (blob is null || blob.Length < 3 || blob[0] != Version)
        {
            return false;
        }

        var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(blob.AsSpan(1));
        var header = 3 + wrappedLength;
        if (blob.Length < header + NonceSize + TagSize)
        {
            return false;
        }

        var key = Open(blob.AsSpan(3, wrappedLength));
        if (key is null)
        {
            return false;
        }

        if (output.Length != blob.Length - header - NonceSize - TagSize)
        {
            return false;
        }

        try
        {
            Cipher(key).Decrypt(blob.AsSpan(header, NonceSize), blob.AsSpan(header + NonceSize + TagSize), blob.AsSpan(header + NonceSize, TagSize), output, associated);
            return true;
        }
        catch (CryptographicException)
        {
            CryptographicOperations.ZeroMemory(output);
            return false;
        }
    }

    private DataKey Current()
    {
        var current = Volatile.Read(ref _current);
        var now = _time.GetUtcNow();
        if (current is not null && now < current.MadeAt + KeyLifetime && now >= current.MadeAt)
        {
            return current;
        }

        lock (_lock)
        {
            current = _current;
            if (current is not null && now < current.MadeAt + KeyLifetime && now >= current.MadeAt)
            {
                return current;
            }

            var key = RandomNumberGenerator.GetBytes(KeySize);
            var made = new DataKey(key, _wrapper.Protect(key), now);
            _opened[Convert.ToBase64String(SHA256.HashData(made.Wrapped))] = key;
            Volatile.Write(ref _current, made);
            return made;
        }
    }

    private byte[]? Open(ReadOnlySpan<byte> wrapped)
    {
        // The usual case, a value sealed under the current data key: no hash, no lookup.
        if (Volatile.Read(ref _current) is { } current && wrapped.SequenceEqual(current.Wrapped))
        {
            return current.Key;
        }

        var id = Convert.ToBase64String(SHA256.HashData(wrapped));
        if (_opened.TryGetValue(id, out var key))
        {
            return key;
        }

        try
        {
            key = _wrapper.Unprotect(wrapped.ToArray());
        }
        catch (CryptographicException)
        {
            return null;
        }

        if (key.Length != KeySize)
        {
            return null;
        }

        if (_opened.Count >= MaxOpenedKeys)
        {
            _opened.Clear();
        }

        _opened[id] = key;
        return key;
    }

    /// <summary>
    /// An <see cref="AesGcm"/> for <paramref name="key"/>, kept per thread for its last few data
    /// keys (<see cref="PerThreadByKey{T}"/>): a signup start seals its form and its code under two
    /// protectors' keys, and one cached cipher per thread would be remade twice per start.
    /// </summary>
    private static AesGcm Cipher(byte[] key) => PerThreadByKey<AesGcm>.Get(key, static k => new AesGcm(k, TagSize));

    private sealed record DataKey(byte[] Key, byte[] Wrapped, DateTimeOffset MadeAt);
}
