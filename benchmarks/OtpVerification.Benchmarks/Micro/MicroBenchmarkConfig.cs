using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// One short job for every micro benchmark: 3 warm-up and 8 measured iterations of about 250 ms,
/// one launch, run in this process (no per-benchmark project generation, so the suite finishes
/// in a few minutes on two cores). MemoryDiagnoser reports bytes allocated per operation, always in bytes.
/// </summary>
internal static class MicroBenchmarkConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.Default
            .WithId("Short")
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
            .WithToolchain(InProcessEmitToolchain.Instance))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddColumn(StatisticColumn.P95)
        .WithSummaryStyle(BenchmarkDotNet.Reports.SummaryStyle.Default.WithSizeUnit(Perfolizer.Metrology.SizeUnit.B))
        .WithOptions(ConfigOptions.JoinSummary);
}
