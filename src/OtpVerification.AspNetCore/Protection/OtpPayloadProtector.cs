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

    // One sub-protector per purpose, made once: creating it per call cost an allocation chain and
    // a fresh additional-authenticated-data template on every protect and unprotect.
    private readonly IDataProtector[] _purposeProtectors;

    public OtpPayloadProtector(IDataProtectionProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _protector = provider.CreateProtector("OtpVerification.PendingPayload.v1");
        var purposes = Enum.GetValues<OtpPurpose>();
        _purposeProtectors = new IDataProtector[purposes.Max(p => (int)p) + 1];
        foreach (var purpose in purposes)
        {
            _purposeProtectors[(int)purpose] = _protector.CreateProtector(OtpVerification.Senders.OtpNames.Purpose(purpose));
        }
    }

    public byte[] Protect<T>(OtpPurpose purpose, T value)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, OtpJson.Options);
        try
        {
            return For(purpose).Protect(json);
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
            json = For(purpose).Unprotect(payload);
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

    private IDataProtector For(OtpPurpose purpose) => (uint)purpose < (uint)_purposeProtectors.Length
        ? _purposeProtectors[(int)purpose]
        : _protector.CreateProtector(OtpVerification.Senders.OtpNames.Purpose(purpose));
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
