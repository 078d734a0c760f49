using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Codes kept for a same-code resend, protected like the pending payload: ASP.NET Core Data
/// Protection. The entry is bound inside the ciphertext (a hash of purpose and address before the
/// code), not as a Data Protection purpose, which Data Protection writes to its trace log.
/// </summary>
internal sealed class DataProtectionOtpCodeProtector : IOtpCodeProtector
{
    private const int BindingSize = 16;
    private readonly IDataProtector[] _protectors;

    public DataProtectionOtpCodeProtector(IDataProtectionProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var root = provider.CreateProtector("OtpVerification.Code.v1");
        var purposes = Enum.GetValues<OtpPurpose>();
        _protectors = new IDataProtector[purposes.Max(p => (int)p) + 1];
        foreach (var purpose in purposes)
        {
            _protectors[(int)purpose] = root.CreateProtector(OtpVerification.Senders.OtpNames.Purpose(purpose));
        }
    }

    public byte[] Protect(OtpPurpose purpose, string address, string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var plain = new byte[BindingSize + Encoding.UTF8.GetByteCount(code)];
        Binding(purpose, address, plain.AsSpan(0, BindingSize));
        Encoding.UTF8.GetBytes(code, plain.AsSpan(BindingSize));
        try
        {
            return For(purpose).Protect(plain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    public bool TryUnprotect(OtpPurpose purpose, string address, byte[] protectedCode, [NotNullWhen(true)] out string? code)
    {
        code = null;
        byte[] plain;
        try
        {
            plain = For(purpose).Unprotect(protectedCode);
        }
        catch (CryptographicException)
        {
            return false;
        }

        try
        {
            Span<byte> expected = stackalloc byte[BindingSize];
            Binding(purpose, address, expected);
            if (plain.Length <= BindingSize || !CryptographicOperations.FixedTimeEquals(plain.AsSpan(0, BindingSize), expected))
            {
                return false;
            }

            code = Encoding.UTF8.GetString(plain.AsSpan(BindingSize));
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static void Binding(OtpPurpose purpose, string address, Span<byte> into)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bytes = Encoding.UTF8.GetBytes("\0" + address);
        bytes[0] = (byte)purpose;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        hash[..BindingSize].CopyTo(into);
    }

    private IDataProtector For(OtpPurpose purpose) => _protectors[(int)purpose];
}
