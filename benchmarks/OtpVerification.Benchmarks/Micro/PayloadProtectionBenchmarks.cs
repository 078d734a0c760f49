using Microsoft.AspNetCore.DataProtection;
using BenchmarkDotNet.Attributes;
using OtpVerification.Benchmarks.Fixtures;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// The pending form at rest: <c>OtpPayloadProtector</c> (JSON, then envelope encryption: AES-GCM
/// under a data key wrapped by ASP.NET Core Data Protection with a key ring persisted to a
/// temporary directory) on a typical form (name, email, password), against the baseline of a
/// Data Protection call per value (what the protector did before issue 16).
/// </summary>
public class PayloadProtectionBenchmarks
{
    private PayloadProtection _protection = null!;
    private byte[] _protected = null!;
    private Microsoft.AspNetCore.DataProtection.IDataProtector _direct = null!;
    private readonly byte[] _raw = new byte[300];
    private readonly byte[] _rawSealed = new byte[300];
    private readonly byte[] _rawOpened = new byte[300];
    private readonly byte[] _rawNonce = new byte[12];
    private readonly byte[] _rawTag = new byte[16];
    private System.Security.Cryptography.AesGcm _aes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _protection = PayloadProtection.Create();
        _protected = _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical);
        _direct = _protection.Provider.CreateProtector("OtpVerification.PendingPayload.v1").CreateProtector("signup");
        _aes = new System.Security.Cryptography.AesGcm(new byte[32], 16);
        var back = _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protected);
        if (back != SignupForm.Typical)
        {
            throw new InvalidOperationException("The payload did not round-trip.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _aes.Dispose();
        _protection.Dispose();
    }

    [Benchmark]
    public byte[] Protect() => _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical);

    [Benchmark]
    public SignupForm? Unprotect() => _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protected);

    /// <summary>The baseline: JSON and one Data Protection call each way, per value.</summary>
    [Benchmark(Baseline = true)]
    public SignupForm? DataProtectionPerValue()
    {
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(SignupForm.Typical, System.Text.Json.JsonSerializerOptions.Web);
        var back = _direct.Unprotect(_direct.Protect(json));
        return System.Text.Json.JsonSerializer.Deserialize<SignupForm>(back, System.Text.Json.JsonSerializerOptions.Web);
    }

    /// <summary>
    /// The floor: AES-256-GCM alone, encrypt then decrypt of 300 bytes with one cached cipher and
    /// no allocation (no JSON, no key lookup, no output arrays). Protect + unprotect of the typical
    /// form does this much cipher work plus JSON both ways.
    /// </summary>
    [Benchmark]
    public byte[] RawAesGcm300()
    {
        System.Security.Cryptography.RandomNumberGenerator.Fill(_rawNonce);
        _aes.Encrypt(_rawNonce, _raw, _rawSealed, _rawTag);
        _aes.Decrypt(_rawNonce, _rawSealed, _rawTag, _rawOpened);
        return _rawOpened;
    }

    [Benchmark]
    public SignupForm? ProtectAndUnprotect() => _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical));
}
