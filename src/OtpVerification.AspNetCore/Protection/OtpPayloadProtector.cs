using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Protects pending forms at rest with ASP.NET Core Data Protection (authenticated encryption
/// with the app's key ring). Every instance that shares a store must share the key ring
/// (<c>PersistKeysTo…</c> and the same application name); rotated keys keep decrypting payloads
/// they protected for as long as they are in the ring.
/// </summary>
internal sealed class OtpPayloadProtector
{
    private readonly IDataProtector _protector;

    public OtpPayloadProtector(IDataProtectionProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _protector = provider.CreateProtector("OtpVerification.PendingPayload.v1");
    }

    public byte[] Protect<T>(OtpPurpose purpose, T value)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, OtpJson.Options);
        try
        {
            return _protector.CreateProtector(OtpVerification.Senders.OtpNames.Purpose(purpose)).Protect(json);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Returns the value, or default when the payload cannot be decrypted (key ring lost or not shared).</summary>
    public T? Unprotect<T>(OtpPurpose purpose, byte[] payload)
    {
        byte[] json;
        try
        {
            json = _protector.CreateProtector(OtpVerification.Senders.OtpNames.Purpose(purpose)).Unprotect(payload);
        }
        catch (CryptographicException)
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, OtpJson.Options);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }
}

internal static class OtpJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = 16,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };
}
