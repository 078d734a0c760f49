using BenchmarkDotNet.Attributes;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>Code generation (CSPRNG digits) and the keyed code hash (HMAC-SHA256).</summary>
public class CodeBenchmarks
{
    private const string Address = "ana.maria.rodrigues@example.com";

    private readonly RandomOtpCodeGenerator _generator = new();
    private readonly HmacOtpCodeHasher _hasher = new(new byte[32]);

    [Benchmark]
    public string GenerateCode() => _generator.Generate(6);

    [Benchmark]
    public byte[] HashCode() => _hasher.Hash(OtpPurpose.Signup, Address, "482913");
}
