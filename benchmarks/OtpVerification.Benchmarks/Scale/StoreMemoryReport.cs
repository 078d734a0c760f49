using System.Globalization;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Stores;

namespace OtpVerification.Benchmarks.Scale;

/// <summary>
/// Bytes per pending registration and per limit record in the in-memory store, the figures the
/// defaults of <c>OtpSignup:MaxPendingEntries</c> and <c>OtpSignup:MaxLimitRecords</c> are sized
/// from: <c>GC.GetTotalMemory(true)</c> before and after storing 100,000 of each kind, divided by
/// the count. Every registration gets its own copy of the protected typical form, as in real life.
/// </summary>
internal static class StoreMemoryReport
{
    public static async Task RunAsync(string[] args)
    {
        var count = args.Length >= 2 && args[0] == "--entries" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var payload = EngineSetup.ProtectedTypicalForm();
        var clock = new BenchmarkClock();
        Console.WriteLine($"# In-memory store: bytes per pending registration and per limit record ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine($"runtime {Environment.Version}, {count:N0} of each kind, GC.GetTotalMemory(forceFullCollection: true) deltas; protected typical form {payload.Length} B, one copy per registration");
        Console.WriteLine();
        Console.WriteLine("| what is stored | bytes / item | of which payload | address string |");
        Console.WriteLine("| :--- | ---: | ---: | ---: |");

        // 1. Pending signups through the engine: the address's limit record (1 send) and its registration.
        {
            var store = new InMemoryPendingRegistrationStore(count, count, clock);
            var engine = EngineSetup.Create(store, clock);
            var before = Measure();
            for (var i = 0; i < count; i++)
            {
                await engine.StartAsync(EngineSetup.StartRequest(EngineSetup.Address("pending", i), payload.ToArray()));
            }

            var per = (Measure() - before) / (double)count;
            Row("pending signup: registration + its address's limit record (engine start)", per, payload.Length + 24, Address(EngineSetup.Address("pending", 0)));
            GC.KeepAlive(store);
        }

        // 2. Limit record alone with one send: an evicted registration's address, a phone, a client that sent once.
        foreach (var sends in new[] { 1, 5, 30 })
        {
            var store = new InMemoryPendingRegistrationStore(1, count, clock);
            var policy = new SendPolicy(TimeSpan.Zero, sends, TimeSpan.FromHours(1));
            var keys = Enumerable.Range(0, count).Select(i => new PendingKey(OtpPurpose.Signup, "client:" + IpOf(i))).ToArray();
            var before = Measure();
            foreach (var key in keys)
            {
                for (var s = 0; s < sends; s++)
                {
                    await store.ReserveSendAsync(key, policy, clock.GetUtcNow());
                }
            }

            var per = (Measure() - before) / (double)count;
            Row($"limit record with {sends} send{(sends == 1 ? string.Empty : "s")} in the hour (`client:` key; key string counted)", per, 0, Address(keys[0].Address));
            GC.KeepAlive(keys);
            GC.KeepAlive(store);
        }

        // 3. An evicted signup: what stays of it (its address's limit record).
        {
            var store = new InMemoryPendingRegistrationStore(1, count + 1, clock);
            var engine = EngineSetup.Create(store, clock);
            var before = Measure();
            for (var i = 0; i < count; i++)
            {
                await engine.StartAsync(EngineSetup.StartRequest(EngineSetup.Address("evicted", i), payload.ToArray()));
            }

            var per = (Measure() - before) / (double)count;
            Row($"evicted signup (store of 1 registration: {store.EvictedCount:N0} evicted)", per, 0, Address(EngineSetup.Address("evicted", 0)));
            GC.KeepAlive(store);
        }
    }

    private static string IpOf(int i) => string.Create(CultureInfo.InvariantCulture, $"198.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}");

    private static int Address(string s) => 22 + (2 * s.Length) + 2 is var n ? (n + 7) / 8 * 8 : 0;

    private static long Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Row(string what, double perItem, int payloadBytes, int addressBytes)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {perItem:F0} B | {payloadBytes} B | {addressBytes} B |"));
}
