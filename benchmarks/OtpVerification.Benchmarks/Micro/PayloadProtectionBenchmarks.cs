using BenchmarkDotNet.Attributes;
using OtpVerification.Benchmarks.Fixtures;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// The pending form at rest: <c>OtpPayloadProtector</c> (JSON, then ASP.NET Core Data Protection
/// with a key ring persisted to a temporary directory) on a typical form (name, email, password).
/// </summary>
public class PayloadProtectionBenchmarks
{
    private PayloadProtection _protection = null!;
    private byte[] _protected = null!;

    [GlobalSetup]
    public void Setup()
    {
        _protection = PayloadProtection.Create();
        _protected = _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical);
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

    [Benchmark]
    public SignupForm? ProtectAndUnprotect() => _protection.Protector.Unprotect<SignupForm>(OtpPurpose.Signup, _protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical));
}
