using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Stores;

namespace OtpVerification.Benchmarks.Scale;

/// <summary>
/// The in-memory store at scale: managed memory per pending registration with 1,000,000 of them,
/// and the latency of <c>OtpEngine.StartAsync</c> (new address each call) on a store holding
/// 1,000 entries versus 1,000,000. Not a BenchmarkDotNet job: it needs one huge, long-lived state.
/// </summary>
internal static class InMemoryScaleReport
{
    private const int SmallEntries = 1_000;
    private const int Batch = 1_000;
    private const int Batches = 20;

    public static async Task RunAsync(string[] args)
    {
        var largeEntries = args.Length >= 2 && args[0] == "--entries" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var payload = EngineSetup.ProtectedTypicalForm();
        Console.WriteLine($"# In-memory store at scale ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine($"runtime {Environment.Version}, {Environment.ProcessorCount} logical CPUs, {(GCSettings.IsServerGC ? "server" : "workstation")} GC ({GCSettings.LatencyMode}), payload {payload.Length} B (shared, not counted)");
        Console.WriteLine($"start latency: {Batches} batches x {Batch} starts of new addresses, each timed alone; the store is refilled to its size before every batch of the small case");
        Console.WriteLine();

        // JIT and caches warm before anything is timed.
        await MeasureSmallAsync(payload, "warm", batches: 3);

        var gcBefore = GcCounts();
        var small = await MeasureSmallAsync(payload, "small", Batches);
        var gcSmall = GcCounts() - gcBefore;

        var (bytesPerEntry, heapPerEntry, fillSeconds, count, large, gcLarge) = await MeasureLargeAsync(payload, largeEntries);

        var addressBytes = StringBytes(EngineSetup.Address("fill", 0).Length);
        Console.WriteLine("## Memory per pending registration");
        Console.WriteLine();
        Console.WriteLine("| entries | GC.GetTotalMemory delta / entry | GCMemoryInfo.HeapSizeBytes delta / entry | of which the address string | fill time (engine starts) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| {count:N0} | {bytesPerEntry:F0} B | {heapPerEntry:F0} B | {addressBytes} B | {fillSeconds:F1} s ({count / fillSeconds:N0} starts/s) |");
        Console.WriteLine();
        Console.WriteLine("## StartAsync latency (µs)");
        Console.WriteLine();
        Console.WriteLine("| store holds | samples | mean | p50 | p90 | p99 | p99.9 | max | GCs gen0/1/2 during |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |");
        Row($"{SmallEntries:N0}", small, gcSmall);
        Row($"{count:N0}", large, gcLarge);
        Console.WriteLine();
        Console.WriteLine($"p99 ratio ({count:N0} / {SmallEntries:N0} entries): {large.At(99) / small.At(99):F2}x; p50 ratio: {large.At(50) / small.At(50):F2}x (target: p99 within 2x)");
    }

    private static async Task<Percentiles> MeasureSmallAsync(byte[] payload, string label, int batches)
    {
        var samples = new List<double>(batches * Batch);
        for (var b = 0; b < batches; b++)
        {
            var store = new InMemoryPendingRegistrationStore(EngineSetup.Options().MaxPendingEntries, TimeProvider.System);
            var engine = EngineSetup.Create(store, TimeProvider.System);
            var prefix = $"{label}{b}-";
            await FillAsync(engine, prefix + "f", payload, SmallEntries);
            await TimeStartsAsync(engine, prefix + "t", payload, Batch, samples);
            Check(store.Count == SmallEntries + Batch, $"small store holds {store.Count}");
        }

        return new Percentiles(samples);
    }

    private static async Task<(double BytesPerEntry, double HeapPerEntry, double FillSeconds, int Count, Percentiles Latency, GcCount Gcs)> MeasureLargeAsync(byte[] payload, int entries)
    {
        var (totalBefore, heapBefore) = Measure();
        var store = new InMemoryPendingRegistrationStore(EngineSetup.Options().MaxPendingEntries, TimeProvider.System);
        var engine = EngineSetup.Create(store, TimeProvider.System);
        var fill = Stopwatch.StartNew();
        await FillAsync(engine, "fill", payload, entries);
        fill.Stop();
        var count = store.Count;
        Check(count == entries, $"large store holds {count}");

        // Sweep-queue items the first operations after the fill would move over are already
        // counted: take the measurement after one more operation has drained the hand-off queue.
        await engine.StartAsync(EngineSetup.StartRequest("drain@example.com", payload));
        var (totalAfter, heapAfter) = Measure();
        var bytesPerEntry = (double)(totalAfter - totalBefore) / store.Count;
        var heapPerEntry = (double)(heapAfter - heapBefore) / store.Count;

        var samples = new List<double>(Batches * Batch);
        var gcBefore = GcCounts();
        for (var b = 0; b < Batches; b++)
        {
            await TimeStartsAsync(engine, $"large{b}-", payload, Batch, samples);
        }

        var gcs = GcCounts() - gcBefore;
        GC.KeepAlive(store);
        return (bytesPerEntry, heapPerEntry, fill.Elapsed.TotalSeconds, count + 1, new Percentiles(samples), gcs);
    }

    private static async Task FillAsync(OtpEngine engine, string prefix, byte[] payload, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var result = await engine.StartAsync(EngineSetup.StartRequest(EngineSetup.Address(prefix, i), payload));
            Check(result.Outcome == OtpOutcome.Accepted, $"fill start {i}: {result.Outcome}");
        }
    }

    private static async Task TimeStartsAsync(OtpEngine engine, string prefix, byte[] payload, int count, List<double> samples)
    {
        for (var i = 0; i < count; i++)
        {
            var request = EngineSetup.StartRequest(EngineSetup.Address(prefix, i), payload);
            var started = Stopwatch.GetTimestamp();
            var result = await engine.StartAsync(request);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Check(result.Outcome == OtpOutcome.Accepted, $"timed start {i}: {result.Outcome}");
            samples.Add(elapsed.TotalMicroseconds);
        }
    }

    private static (long Total, long Heap) Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        return (GC.GetTotalMemory(forceFullCollection: true), heap);
    }

    private static int StringBytes(int length) => (20 + (2 * length) + 2 + 7) / 8 * 8;

    private static GcCount GcCounts() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    private static void Row(string size, Percentiles p, GcCount gcs) =>
        Console.WriteLine($"| {size} | {p.Count:N0} | {p.Mean:F2} | {p.At(50):F2} | {p.At(90):F2} | {p.At(99):F2} | {p.At(99.9):F2} | {p.Max:F1} | {gcs.Gen0}/{gcs.Gen1}/{gcs.Gen2} |");

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Scale check failed: " + what);
        }
    }

    private readonly record struct GcCount(int Gen0, int Gen1, int Gen2)
    {
        public static GcCount operator -(GcCount a, GcCount b) => new(a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2);
    }
}
