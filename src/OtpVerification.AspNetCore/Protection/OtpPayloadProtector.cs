using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Protects pending forms at rest: envelope encryption under ASP.NET Core Data Protection
/// (<see cref="EnvelopeProtector"/>: AES-256-GCM with a data key wrapped by the app's key ring),
/// bound to the purpose. Every instance that shares a store must share the key ring
/// (<c>PersistKeysTo…</c> and the same application name); rotated keys keep opening payloads they
/// sealed for as long as they are in the ring.
/// </summary>
internal sealed class OtpPayloadProtector
{
    private readonly EnvelopeProtector _envelope;

    public OtpPayloadProtector(IDataProtectionProvider provider, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _envelope = new EnvelopeProtector(provider, "OtpVerification.PendingPayload.v2", time);
    }

    public byte[] Protect<T>(OtpPurpose purpose, T value)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, OtpJson.Options);
        try
        {
            return _envelope.Protect(json, Associated(purpose));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Returns the value, or default when the payload cannot be decrypted (key ring lost or not shared).</summary>
    public T? Unprotect<T>(OtpPurpose purpose, ReadOnlyMemory<byte> payload)
    {
        var blob = MemoryMarshal.TryGetArray(payload, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : payload.ToArray();

        // The JSON is opened into a pooled buffer, read from there, and wiped.
        if (!EnvelopeProtector.TryPlainLength(blob, out var length))
        {
            return default;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        var json = buffer.AsSpan(0, length);
        try
        {
            return _envelope.TryUnprotect(blob, Associated(purpose), json) ? JsonSerializer.Deserialize<T>(json, OtpJson.Options) : default;
        }
        catch (JsonException)
        {
            return default;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ReadOnlySpan<byte> Associated(OtpPurpose purpose) => (uint)purpose < (uint)PurposeBytes.Length ? PurposeBytes.AsSpan((int)purpose, 1) : new[] { (byte)purpose };

    /// <summary>Each purpose's one byte of associated data, without an array per call.</summary>
    private static readonly byte[] PurposeBytes = [0, 1, 2, 3, 4, 5, 6, 7];
}

internal static class OtpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = 16,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,

        // {"email":"a@…","Email":"b@…"} is refused: a reader that took the first value and one
        // that took the last would act on two different addresses.
        AllowDuplicateProperties = false,
    };
}
