using BenchmarkDotNet.Running;
using OtpVerification.Benchmarks.Micro;
using OtpVerification.Benchmarks.Redis;
using OtpVerification.Benchmarks.Scale;

namespace OtpVerification.Benchmarks;

/// <summary>
/// <c>scale</c>: the in-memory store at 1,000,000 entries (memory per entry, start latency).
/// <c>store-memory</c>: bytes per pending registration and per limit record (100,000 of each).
/// <c>soak</c>: bots at the store's cap beside people's signups, memory and 5xx over time (<c>benchmarks/soak.sh</c>).
/// <c>redis-memory</c>: round trips per engine operation and MEMORY USAGE per registration.
/// Anything else goes to BenchmarkDotNet (e.g. <c>--filter '*'</c>).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "scale":
                await InMemoryScaleReport.RunAsync(args.Skip(1).ToArray());
                return 0;
            case "store-memory":
                await StoreMemoryReport.RunAsync(args.Skip(1).ToArray());
                return 0;
            case "soak":
                await SoakReport.RunAsync(args.Skip(1).ToArray());
                return 0;
            case "redis-memory":
                await RedisMemoryReport.RunAsync();
                return 0;
            default:
                var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, MicroBenchmarkConfig.Create());
                return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
        }
    }
}
