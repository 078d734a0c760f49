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
        if (!_envelope.TryUnprotect(blob, Associated(purpose), out var json))
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, OtpJson.Options);
        }
        catch (JsonException)
        {
            return default;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    private static byte[] Associated(OtpPurpose purpose) => [(byte)purpose];
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
