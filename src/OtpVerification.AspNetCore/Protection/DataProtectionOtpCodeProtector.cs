using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Codes kept for a same-code resend, protected like the pending payload: envelope encryption
/// under ASP.NET Core Data Protection, bound to purpose and entry (as associated data, which is
/// neither stored nor logged).
/// </summary>
internal sealed class DataProtectionOtpCodeProtector(IDataProtectionProvider provider) : IOtpCodeProtector
{
    private readonly EnvelopeProtector _envelope = new(provider ?? throw new ArgumentNullException(nameof(provider)), "OtpVerification.Code.v2");

    public byte[] Protect(OtpPurpose purpose, string address, string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var plain = Encoding.UTF8.GetBytes(code);
        try
        {
            return _envelope.Protect(plain, Associated(purpose, address));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    public bool TryUnprotect(OtpPurpose purpose, string address, byte[] protectedCode, [NotNullWhen(true)] out string? code)
    {
        code = null;
        if (!_envelope.TryUnprotect(protectedCode, Associated(purpose, address), out var plain))
        {
            return false;
        }

        code = Encoding.UTF8.GetString(plain);
        CryptographicOperations.ZeroMemory(plain);
        return true;
    }

    private static byte[] Associated(OtpPurpose purpose, string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bytes = new byte[1 + Encoding.UTF8.GetByteCount(address)];
        bytes[0] = (byte)purpose;
        Encoding.UTF8.GetBytes(address, bytes.AsSpan(1));
        return bytes;
    }
}
