using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Stores;

/// <summary>
/// The binary value of a registration's <c>…:pay</c> key: the destinations and device id, sealed,
/// followed by the payload as given (the app protects it; the store keeps it opaque).
/// </summary>
/// <remarks>
/// Layout: version (1 byte, 2), AES-GCM nonce (12), tag (16), sealed length (7-bit varint),
/// sealed bytes (destinations, device id, flow id), payload. The sealed part is AES-256-GCM under a key derived (HKDF-SHA256) from
/// the purpose and the address the entry is keyed by: someone reading Redis sees neither the
/// address nor a phone number or device id, unless they already know the address. A destination
/// equal to the key's address is stored as a one-byte reference to it.
/// </remarks>
internal static class RegistrationEnvelope
{
    private const byte Version = 2;
    private const byte DestinationVersion = 0x81;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const byte None = 0;
    private const byte KeyAddress = 0;
    private const byte Utf8Text = 1;
    private const byte Utf16Text = 2;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> Salt => "OtpVerification.Redis/registration/v1"u8;

    /// <summary>Builds the value stored for <paramref name="registration"/>.</summary>
    public static byte[] Seal(PendingRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration.Destinations);
        ArgumentNullException.ThrowIfNull(registration.Payload);
        var flowId = registration.FlowId ?? throw new ArgumentException("A registration has no flow id.", nameof(registration));

        // The sealed part is written into a pooled buffer: only the stored value is allocated.
        var max = 5 + MaxStringSize(flowId) + (registration.DeviceId is null ? 1 : MaxStringSize(registration.DeviceId));
        foreach (var destination in registration.Destinations)
        {
            max += 5 + MaxStringSize(destination.Address ?? throw new ArgumentException("A destination has no address.", nameof(registration)));
        }

        var plain = ArrayPool<byte>.Shared.Rent(max);
        var length = 0;
        try
        {
            length += WriteVarint(plain.AsSpan(length), registration.Destinations.Count);
            foreach (var destination in registration.Destinations)
            {
                length += WriteVarint(plain.AsSpan(length), (int)destination.Channel);
                if (string.Equals(destination.Address, registration.Key.Address, StringComparison.Ordinal))
                {
                    plain[length++] = KeyAddress;
                }
                else
                {
                    length += WriteString(plain.AsSpan(length), destination.Address);
                }
            }

            if (registration.DeviceId is null)
            {
                plain[length++] = None;
            }
            else
            {
                length += WriteString(plain.AsSpan(length), registration.DeviceId);
            }

            length += WriteString(plain.AsSpan(length), flowId);

            var header = 1 + NonceSize + TagSize + VarintSize(length);
            var blob = new byte[header + length + registration.Payload.Length];
            blob[0] = Version;
            var nonce = blob.AsSpan(1, NonceSize);
            var tag = blob.AsSpan(1 + NonceSize, TagSize);
            WriteVarint(blob.AsSpan(1 + NonceSize + TagSize), length);
            RandomNumberGenerator.Fill(nonce);
            using (var aes = CreateCipher(registration.Key))
            {
                aes.Encrypt(nonce, plain.AsSpan(0, length), blob.AsSpan(header, length), tag, blob.AsSpan(0, 1));
            }

            registration.Payload.CopyTo(blob.AsSpan(header + length));
            return blob;
        }
        finally
        {
            plain.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(plain);
        }
    }

    /// <summary>Reads a value written by <see cref="Seal"/> for the same key.</summary>
    /// <exception cref="InvalidDataException">The value is not one, or was written for another key, or was altered.</exception>
    public static (OtpDestination[] Destinations, string? DeviceId, string FlowId, byte[] Payload) Open(PendingKey key, byte[] blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Length < 1 + NonceSize + TagSize + 1 || blob[0] != Version)
        {
            throw new InvalidDataException("The stored registration has an unknown format.");
        }

        var position = 1 + NonceSize + TagSize;
        var sealedLength = ReadVarint(blob, ref position);
        if (sealedLength < 0 || sealedLength > blob.Length - position)
        {
            throw new InvalidDataException("The stored registration is truncated.");
        }

        var plain = ArrayPool<byte>.Shared.Rent(Math.Max(sealedLength, 1));
        try
        {
            try
            {
                using var aes = CreateCipher(key);
                aes.Decrypt(blob.AsSpan(1, NonceSize), blob.AsSpan(position, sealedLength), blob.AsSpan(1 + NonceSize, TagSize), plain.AsSpan(0, sealedLength), blob.AsSpan(0, 1));
            }
            catch (CryptographicException ex)
            {
                throw new InvalidDataException("The stored registration could not be authenticated.", ex);
            }

            var payload = blob.AsSpan(position + sealedLength).ToArray();
            var cursor = 0;
            var span = plain.AsSpan(0, sealedLength);
            var count = ReadVarint(span, ref cursor);
            if (count < 0 || count > sealedLength)
            {
                throw new InvalidDataException("The stored registration is malformed.");
            }

            var destinations = new OtpDestination[count];
            for (var i = 0; i < count; i++)
            {
                var channel = (OtpChannel)ReadVarint(span, ref cursor);
                var address = ReadString(span, ref cursor) ?? key.Address;
                destinations[i] = new OtpDestination(channel, address);
            }

            var deviceId = ReadString(span, ref cursor);
            var flowId = ReadString(span, ref cursor) ?? throw new InvalidDataException("The stored registration has no flow id.");
            return (destinations, deviceId, flowId, payload);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new InvalidDataException("The stored registration is malformed.", ex);
        }
        finally
        {
            plain.AsSpan(0, sealedLength).Clear();
            ArrayPool<byte>.Shared.Return(plain);
        }
    }

    /// <summary>Seals one destination (the one a code went to) for the registration hash's <c>w</c> field.</summary>
    public static byte[] SealDestination(PendingKey key, OtpDestination destination)
    {
        var plain = ArrayPool<byte>.Shared.Rent(5 + MaxStringSize(destination.Address));
        var length = 0;
        try
        {
            length += WriteVarint(plain.AsSpan(length), (int)destination.Channel);
            length += WriteString(plain.AsSpan(length), destination.Address);
            var blob = new byte[1 + NonceSize + TagSize + length];
            blob[0] = DestinationVersion;
            RandomNumberGenerator.Fill(blob.AsSpan(1, NonceSize));
            using (var aes = CreateCipher(key))
            {
                aes.Encrypt(blob.AsSpan(1, NonceSize), plain.AsSpan(0, length), blob.AsSpan(1 + NonceSize + TagSize), blob.AsSpan(1 + NonceSize, TagSize), blob.AsSpan(0, 1));
            }

            return blob;
        }
        finally
        {
            plain.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(plain);
        }
    }

    /// <summary>Reads a value written by <see cref="SealDestination"/> for the same key.</summary>
    /// <exception cref="InvalidDataException">The value is not one, or was written for another key, or was altered.</exception>
    public static OtpDestination OpenDestination(PendingKey key, byte[] blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Length < 1 + NonceSize + TagSize + 2 || blob[0] != DestinationVersion)
        {
            throw new InvalidDataException("The stored destination has an unknown format.");
        }

        var plain = new byte[blob.Length - 1 - NonceSize - TagSize];
        try
        {
            using var aes = CreateCipher(key);
            aes.Decrypt(blob.AsSpan(1, NonceSize), blob.AsSpan(1 + NonceSize + TagSize), blob.AsSpan(1 + NonceSize, TagSize), plain, blob.AsSpan(0, 1));
            var cursor = 0;
            var channel = (OtpChannel)ReadVarint(plain, ref cursor);
            var address = ReadString(plain, ref cursor) ?? throw new InvalidDataException("The stored destination is malformed.");
            return new OtpDestination(channel, address);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException("The stored destination could not be authenticated.", ex);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new InvalidDataException("The stored destination is malformed.", ex);
        }
    }

    private static AesGcm CreateCipher(PendingKey key)
    {
        Span<byte> secret = stackalloc byte[32];
        Span<byte> info = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(info, (int)key.Purpose);
        var ikmLength = Encoding.UTF8.GetByteCount(key.Address);
        var ikm = ikmLength <= 512 ? stackalloc byte[ikmLength] : new byte[ikmLength];
        Encoding.UTF8.GetBytes(key.Address, ikm);
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, secret, Salt, info);
            return new AesGcm(secret, TagSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>The most bytes <see cref="WriteString"/> may write for <paramref name="value"/>.</summary>
    private static int MaxStringSize(string value) => 1 + 5 + Math.Max(Encoding.UTF8.GetMaxByteCount(value.Length), Encoding.Unicode.GetMaxByteCount(value.Length));

    /// <summary>Writes a kind byte, a length and the string's bytes (UTF-8, or UTF-16 for lone surrogates); returns the bytes written.</summary>
    private static int WriteString(Span<byte> output, string value)
    {
        int length;
        byte kind;
        try
        {
            length = StrictUtf8.GetByteCount(value);
            kind = Utf8Text;
        }
        catch (EncoderFallbackException)
        {
            // Lone surrogates: keep the exact UTF-16 code units so the string round-trips.
            length = Encoding.Unicode.GetByteCount(value);
            kind = Utf16Text;
        }

        output[0] = kind;
        var written = 1 + WriteVarint(output[1..], length);
        written += kind == Utf8Text ? StrictUtf8.GetBytes(value, output[written..]) : Encoding.Unicode.GetBytes(value, output[written..]);
        return written;
    }

    private static string? ReadString(ReadOnlySpan<byte> input, ref int position)
    {
        var kind = input[position++];
        if (kind == None)
        {
            return null;
        }

        var length = ReadVarint(input, ref position);
        var bytes = input.Slice(position, length);
        position += length;
        return kind switch
        {
            Utf8Text => Encoding.UTF8.GetString(bytes),
            Utf16Text => Encoding.Unicode.GetString(bytes),
            _ => throw new InvalidDataException("The stored registration is malformed."),
        };
    }

    private static int VarintSize(int value)
    {
        var size = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7)
        {
            size++;
        }

        return size;
    }

    private static int WriteVarint(Span<byte> output, int value)
    {
        var v = (uint)value;
        var i = 0;
        while (v >= 0x80)
        {
            output[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        output[i++] = (byte)v;
        return i;
    }

    private static int ReadVarint(ReadOnlySpan<byte> input, ref int position)
    {
        uint result = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = input[position++];
            result |= (uint)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return result > int.MaxValue ? throw new InvalidDataException("The stored registration is malformed.") : (int)result;
            }
        }

        throw new InvalidDataException("The stored registration is malformed.");
    }
}
