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

    [GlobalSetup]
    public void Setup()
    {
        _protection = PayloadProtection.Create();
        _protected = _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical);
        _direct = _protection.Provider.CreateProtector("OtpVerification.PendingPayload.v1").CreateProtector("signup");
        var back = _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protected);
        if (back != SignupForm.Typical)
        {
            throw new InvalidOperationException("The payload did not round-trip.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _protection.Dispose();

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

    [Benchmark]
    public SignupForm? ProtectAndUnprotect() => _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical));
}
