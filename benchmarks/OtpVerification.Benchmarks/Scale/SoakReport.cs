using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Diagnostics;
using OtpVerification.Redis;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Redis.Stores;
using OtpVerification.Senders;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Benchmarks.Scale;

/// <summary>
/// A soak (not CI): for a given time, bots start signups from many client keys (each under the
/// per-client limit) at a steady rate that keeps the in-memory store at its cap, while people start,
/// sometimes guess wrong, sometimes resend after the cooldown, and verify. Every 10 s (`--report-every`) it prints the
/// process's resident memory, the managed heap, the store's counts (or Redis's used_memory), the
/// unavailable answers (503 over HTTP) and the signups completed. Engine-level, in process: the
/// engine and store are what the flood reaches; the HTTP layer adds no state.
/// </summary>
internal static class SoakReport
{
    public static async Task RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var storeKind = Arg("--store", "memory");
        var seconds = int.Parse(Arg("--seconds", "600"), CultureInfo.InvariantCulture);
        var cap = int.Parse(Arg("--cap", "20000"), CultureInfo.InvariantCulture);
        var botsPerSecond = int.Parse(Arg("--bots-per-second", "200"), CultureInfo.InvariantCulture);
        var peoplePerSecond = int.Parse(Arg("--people-per-second", "20"), CultureInfo.InvariantCulture);
        var records = int.Parse(Arg("--records", (cap * OtpVerificationOptions.LimitRecordsPerPendingEntry).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var reportEveryMs = 1000L * int.Parse(Arg("--report-every", "10"), CultureInfo.InvariantCulture);

        // 0: a new address per bot start (every start adds a limit record for the rolling hour).
        // N: bots cycle through N addresses, so the limit records stop growing after one pass.
        var botAddresses = long.Parse(Arg("--bot-addresses", "0"), CultureInfo.InvariantCulture);

        // k > 1: the engine and the in-memory store run on a clock k times faster than real time
        // (every lifetime, cooldown and the limits' rolling hour pass k times sooner), so the
        // plateau after the rolling hour comes within 60/k real minutes. The soak's own waits
        // (a person's resend after the cooldown) shrink alike. Not for Redis: its TTLs run on
        // Redis's own clock.
        var timeScale = double.Parse(Arg("--time-scale", "1"), CultureInfo.InvariantCulture);
        if (timeScale < 1 || (timeScale > 1 && storeKind == "redis"))
        {
            throw new ArgumentException("--time-scale must be at least 1, and 1 for the Redis store.");
        }

        TimeProvider time = timeScale > 1 ? new ScaledTimeProvider(timeScale) : TimeProvider.System;

        var options = new OtpVerificationOptions
        {
            MaxPendingEntries = cap,
            MaxLimitRecords = records,
            PendingLifetime = TimeSpan.FromMinutes(3),
            Code = new OtpCodeOptions { Lifetime = TimeSpan.FromMinutes(2) },
            Abuse = new OtpAbuseOptions { EqualizeResponseTimes = false },
        };
        var sender = new PeopleSender();
        var payload = EngineSetup.ProtectedTypicalForm();
        RedisServerProcess? server = null;
        ConnectionMultiplexer? admin = null;
        ConnectionMultiplexer? connection = null;
        IPendingRegistrationStore store;
        if (storeKind == "redis")
        {
            server = await RedisServerProcess.StartAsync();
            admin = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
            await Admin(admin, "CONFIG", "SET", "maxmemory", "256mb");
            await Admin(admin, "CONFIG", "SET", "maxmemory-policy", "noeviction");
            connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
            store = new RedisPendingRegistrationStore(RedisMultiplexerSource.Shared(connection), new HmacOtpCodeHasher(new byte[32]), RedisStoreOptions.DefaultKeyPrefix, TimeProvider.System);
        }
        else
        {
            store = new InMemoryPendingRegistrationStore(options.MaxPendingEntries, options.LimitRecordsCap, time, new OtpMetrics(), NullLogger.Instance);
        }

        var engine = EngineSetup.Create(store, time, sender, options);
        Console.WriteLine($"# Soak: {storeKind} store, {seconds} s ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine($"{(timeScale > 1 ? $"store clock {timeScale}x real time (t is real seconds); " : string.Empty)}{(botAddresses > 0 ? $"bots cycle through {botAddresses:N0} addresses; " : string.Empty)}MaxPendingEntries {options.MaxPendingEntries:N0}, MaxLimitRecords {options.LimitRecordsCap:N0}{(storeKind == "redis" ? " (not used: Redis maxmemory 256mb, noeviction)" : string.Empty)}; bots {botsPerSecond}/s (20 per client key), people {peoplePerSecond}/s; PendingLifetime 3 min, code 2 min, cooldown 1 min, 5 codes/h, 30 sends/client/h; protected form {payload.Length} B");
        Console.WriteLine();
        Console.WriteLine("| t (s) | RSS MB | managed heap MB | store | bot starts | people started | completed | resends (completed after one) | flow_expired (evicted) | unavailable (5xx) | other refusals | GC heap after last GC MB (fragmented) | GC committed MB |");
        Console.WriteLine("| ---: | ---: | ---: | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

        var counters = new Counters();
        var resends = new ConcurrentQueue<(long DueMs, string Address, string FlowId, string Client)>();
        var clock = Stopwatch.StartNew();
        long bots = 0;
        long people = 0;
        var nextReport = reportEveryMs;
        const int TickMs = 100;
        for (var tick = 0L; clock.ElapsedMilliseconds < seconds * 1000L; tick++)
        {
            var tickStart = tick * TickMs;
            var wait = tickStart - clock.ElapsedMilliseconds;
            if (wait > 0)
            {
                await Task.Delay((int)wait);
            }

            for (var i = 0; i < botsPerSecond * TickMs / 1000; i++, bots++)
            {
                var address = string.Create(CultureInfo.InvariantCulture, $"bot{(botAddresses > 0 ? bots % botAddresses : bots):D9}@bots.example");
                var result = await engine.StartAsync(Request(address, payload, string.Create(CultureInfo.InvariantCulture, $"bot-net-{bots / 20}")));
                counters.Count(result.Outcome, bot: true);
                if (bots % 4 == 0 && result.Outcome == OtpOutcome.Accepted)
                {
                    counters.Count((await engine.VerifyAsync(OtpPurpose.Signup, address, result.FlowId!, "000000", null)).Outcome, bot: true);
                }
            }

            for (var i = 0; i < peoplePerSecond * TickMs / 1000; i++, people++)
            {
                var address = string.Create(CultureInfo.InvariantCulture, $"person{people:D8}@example.com");
                var client = string.Create(CultureInfo.InvariantCulture, $"person-net-{people % 5000}");
                var result = await engine.StartAsync(Request(address, payload, client));
                Interlocked.Increment(ref counters.PeopleStarted);
                counters.Count(result.Outcome, bot: false);
                if (result.Outcome != OtpOutcome.Accepted)
                {
                    continue;
                }

                if (people % 3 == 0)
                {
                    // A typo first.
                    counters.Count((await engine.VerifyAsync(OtpPurpose.Signup, address, result.FlowId!, Wrong(sender.CodeFor(address)), null)).Outcome, bot: false);
                }

                if (people % 10 < 3)
                {
                    // Did not get the message: asks again once the cooldown is over.
                    resends.Enqueue((clock.ElapsedMilliseconds + (long)(61_000 / timeScale), address, result.FlowId!, client));
                    continue;
                }

                await VerifyAsync(engine, sender, counters, address, result.FlowId!);
            }

            while (resends.TryPeek(out var due) && due.DueMs <= clock.ElapsedMilliseconds && resends.TryDequeue(out due))
            {
                var resent = await engine.ResendAsync(OtpPurpose.Signup, due.Address, due.Client);
                Interlocked.Increment(ref counters.Resends);
                counters.Count(resent.Outcome, bot: false);
                if (await VerifyAsync(engine, sender, counters, due.Address, due.FlowId))
                {
                    Interlocked.Increment(ref counters.CompletedAfterResend);
                }
            }

            if (clock.ElapsedMilliseconds >= nextReport)
            {
                nextReport += reportEveryMs;
                string storeState;
                if (store is InMemoryPendingRegistrationStore memory)
                {
                    storeState = string.Create(CultureInfo.InvariantCulture, $"{memory.PendingCount:N0} pending, {memory.Count:N0} records, {memory.EvictedCount:N0} evicted");
                }
                else
                {
                    var info = (string?)await Admin(admin!, "INFO", "memory") ?? string.Empty;
                    var keys = (long)await Admin(admin!, "DBSIZE");
                    storeState = $"used_memory {Field(info, "used_memory_human")}, {keys} keys";
                }

                using var process = Process.GetCurrentProcess();
                var gc = GC.GetGCMemoryInfo();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {clock.ElapsedMilliseconds / 1000} | {process.WorkingSet64 / 1048576.0:F0} | {GC.GetTotalMemory(false) / 1048576.0:F0} | {storeState} | {bots:N0} | {counters.PeopleStarted:N0} | {counters.Completed:N0} | {counters.Resends:N0} ({counters.CompletedAfterResend:N0}) | {counters.PeopleFlowExpired:N0} | {counters.Unavailable:N0} | {counters.OtherRefusals:N0} | {gc.HeapSizeBytes / 1048576.0:F0} ({gc.FragmentedBytes / 1048576.0:F0}) | {gc.TotalCommittedBytes / 1048576.0:F0} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Totals: {bots:N0} bot starts, {counters.PeopleStarted:N0} people started, {counters.Completed:N0} completed ({counters.CompletedAfterResend:N0} of them after a resend), {counters.PeopleFlowExpired:N0} people's flows evicted (flow_expired), {counters.Unavailable:N0} unavailable (5xx), {counters.OtherRefusals:N0} other refusals (429 and 400s of people)."));
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        if (admin is not null)
        {
            await admin.DisposeAsync();
        }

        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static Task<RedisResult> Admin(IConnectionMultiplexer admin, string command, params object[] args) =>
        admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync(command, args);

    private static async Task<bool> VerifyAsync(OtpEngine engine, PeopleSender sender, Counters counters, string address, string flowId)
    {
        var verified = await engine.VerifyAsync(OtpPurpose.Signup, address, flowId, sender.CodeFor(address), null);
        counters.Count(verified.Outcome, bot: false);
        if (verified.Outcome != OtpOutcome.Verified)
        {
            return false;
        }

        Interlocked.Increment(ref counters.Completed);
        sender.Forget(address);
        return true;
    }

    private static OtpStartRequest Request(string address, byte[] payload, string client) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        Payload = payload.ToArray(),
        ClientKey = client,
    };

    private static string Wrong(string? code) => code == "000000" ? "111111" : "000000";

    private static string Field(string info, string name)
    {
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return line[(name.Length + 1)..].Trim();
            }
        }

        return "?";
    }

    private sealed class Counters
    {
        public long PeopleStarted;
        public long Completed;
        public long Resends;
        public long CompletedAfterResend;
        public long PeopleFlowExpired;
        public long Unavailable;
        public long OtherRefusals;

        public void Count(OtpOutcome outcome, bool bot)
        {
            switch (outcome)
            {
                case OtpOutcome.Unavailable:
                    Interlocked.Increment(ref Unavailable);
                    break;
                case OtpOutcome.FlowExpired when !bot:
                    Interlocked.Increment(ref PeopleFlowExpired);
                    break;
                case OtpOutcome.TooFrequent or OtpOutcome.RateLimited or OtpOutcome.CodeExpired or OtpOutcome.MaxAttempts when !bot:
                    Interlocked.Increment(ref OtherRefusals);
                    break;
            }
        }
    }

    /// <summary>Keeps the last code of people only (bots' codes are dropped), and forgets it once used.</summary>
    private sealed class PeopleSender : IOtpSender
    {
        private readonly ConcurrentDictionary<string, string> _codes = new(StringComparer.Ordinal);

        public OtpChannel Channel => OtpChannel.Email;

        public string CodeFor(string address) => _codes.TryGetValue(address, out var code) ? code : "000000";

        public void Forget(string address) => _codes.TryRemove(address, out _);

        public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(message);
            if (message.To.StartsWith("person", StringComparison.Ordinal))
            {
                _codes[message.To] = message.Code;
            }

            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A clock that runs <c>scale</c> times faster than real time, from now on.</summary>
internal sealed class ScaledTimeProvider(double scale) : TimeProvider
{
    private readonly DateTimeOffset _start = TimeProvider.System.GetUtcNow();
    private readonly long _started = Stopwatch.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _start + TimeSpan.FromTicks((long)(Stopwatch.GetElapsedTime(_started).Ticks * scale));
}
