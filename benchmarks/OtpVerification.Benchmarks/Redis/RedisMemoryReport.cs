using System.Globalization;
using System.Text.RegularExpressions;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Redis;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Redis.Stores;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Benchmarks.Redis;

/// <summary>
/// The Redis store seen from Redis: commands per engine operation (client-side count and the
/// server's <c>INFO commandstats</c> deltas) and <c>MEMORY USAGE</c> per pending registration.
/// Starts its own <c>redis-server</c> on a free loopback port and stops it afterwards.
/// </summary>
internal static partial class RedisMemoryReport
{
    private const int Operations = 1_000;
    private const int Registrations = 1_000;
    private const string Prefix = RedisStoreOptions.DefaultKeyPrefix;

    /// <summary>The key-name hasher of the store (any key: the report reads the names it gives).</summary>
    private static readonly HmacOtpCodeHasher Hasher = new(new byte[32]);

    public static async Task RunAsync()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
        await using var counting = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var clock = new BenchmarkClock();
        var store = new RedisPendingRegistrationStore(RedisMultiplexerSource.Shared(counting), Hasher, Prefix, clock);
        var sender = new CapturingOtpSender();
        var engine = EngineSetup.Create(store, clock, sender);
        var payload = EngineSetup.ProtectedTypicalForm();

        var info = (string)(await Admin(admin, "INFO", "server"))!;
        Console.WriteLine($"# Redis store: round trips and memory ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        Console.WriteLine($"redis-server {Field(info, "redis_version")} on {server.ConnectionString} (--save \"\" --appendonly no), payload {payload.Length} B (the protected typical form)");
        Console.WriteLine();

        await RoundTripsAsync(admin, counting, store, engine, sender, clock, payload);
        await MemoryAsync(admin, engine, payload, deviceId: null);
        await MemoryAsync(admin, engine, payload, deviceId: Guid.NewGuid().ToString());

        await using var plain = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        await AllocationsAsync(new RedisPendingRegistrationStore(RedisMultiplexerSource.Shared(plain), Hasher, Prefix, clock), clock, payload);
    }

    /// <summary>
    /// Where the managed allocations of a Redis-backed start and verify go: each layer measured on
    /// its own, sequentially, with GC.GetTotalAllocatedBytes(precise) (all threads, so the
    /// connection's reader is included). Inputs are built beforehand and not counted.
    /// </summary>
    private static async Task AllocationsAsync(RedisPendingRegistrationStore store, BenchmarkClock clock, byte[] payload)
    {
        const int n = 2_000;
        var engine = EngineSetup.Create(store, clock);
        var hasher = new HmacOtpCodeHasher(new byte[32]);
        var policy = new SendPolicy(TimeSpan.FromMinutes(1), 1000, TimeSpan.FromHours(1));
        PendingRegistration[] Registrations(string prefix) => Enumerable.Range(0, n).Select(i =>
        {
            var address = EngineSetup.Address(prefix, i);
            var now = clock.GetUtcNow();
            return new PendingRegistration
            {
                Key = new PendingKey(OtpPurpose.Signup, address),
                // As the engine stores a flow: its id bound to the address it was started for.
                FlowId = "benchmark-flow|" + address,
                CodeHash = hasher.Hash(OtpPurpose.Signup, address, "123456"),
                CodeExpiresAt = now + TimeSpan.FromMinutes(10),
                ExpiresAt = now + TimeSpan.FromMinutes(30),
                AttemptsLeft = int.MaxValue,
                Destinations = [new OtpDestination(OtpChannel.Email, address)],
                DeliveredTo = new OtpDestination(OtpChannel.Email, address),
                Payload = payload,
            };
        }).ToArray();

        var warm = Registrations("warm");
        var keysOnly = Registrations("keys");
        var sealOnly = Registrations("seal");
        var stored = Registrations("store");
        var requests = Enumerable.Range(0, n).Select(i => EngineSetup.StartRequest(EngineSetup.Address("engine", i), payload)).ToArray();
        var wrong = stored.Select(r => hasher.Hash(OtpPurpose.Signup, r.Key.Address, "000000")).ToArray();
        foreach (var registration in warm)
        {
            RedisKeys.For(Prefix, registration.Key, Hasher);
            RegistrationEnvelope.Seal(registration);
            await store.CreateOrReplaceAsync(registration, policy, clock.GetUtcNow());
            await store.VerifyAndConsumeAsync(registration.Key, registration.FlowId, [wrong[0]], null, clock.GetUtcNow());
            await engine.VerifyAsync(OtpPurpose.Signup, registration.Key.Address, "benchmark-flow", "000000", null);
        }

        await engine.StartAsync(EngineSetup.StartRequest("warm-engine@example.com", payload));
        var blobLength = RegistrationEnvelope.Seal(sealOnly[0]).Length;

        Console.WriteLine("## Managed allocations per operation, Redis store (layer by layer)");
        Console.WriteLine();
        Console.WriteLine($"{n:N0} sequential calls per row, GC.GetTotalAllocatedBytes(precise: true) delta / calls; the protected payload is {payload.Length} B.");
        Console.WriteLine();
        Console.WriteLine("| layer | bytes / op |");
        Console.WriteLine("| :--- | ---: |");
        Row("RedisKeys.For (5 key names)", await Measure(i => new ValueTask<RedisKeys>(RedisKeys.For(Prefix, keysOnly[i].Key, Hasher))));
        Row($"RegistrationEnvelope.Seal (AES-GCM of destinations + copy of the payload; the value itself is {blobLength} B)", await Measure(i => new ValueTask<byte[]>(RegistrationEnvelope.Seal(sealOnly[i]))));
        Row("store.CreateOrReplaceAsync (keys + seal + args + EVALSHA round trip + reply)", await Measure(i => store.CreateOrReplaceAsync(stored[i], policy, clock.GetUtcNow())));
        Row("engine.StartAsync (code, hash, registration, message + the store call)", await Measure(i => engine.StartAsync(requests[i])));
        Row("store.VerifyAndConsumeAsync, wrong code", await Measure(i => store.VerifyAndConsumeAsync(stored[i].Key, stored[i].FlowId, [wrong[i]], null, clock.GetUtcNow())));
        Row("engine.VerifyAsync, wrong code (hash + the store call)", await Measure(i => engine.VerifyAsync(OtpPurpose.Signup, stored[i].Key.Address, "benchmark-flow", "000000", null)));
        Console.WriteLine();

        static async Task<double> Measure<T>(Func<int, ValueTask<T>> operation)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < n; i++)
            {
                await operation(i);
            }

            return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)n;
        }

        static void Row(string layer, double bytes) => Console.WriteLine($"| {layer} | {bytes:F0} |");
    }

    private static async Task RoundTripsAsync(IConnectionMultiplexer admin, IConnectionMultiplexer counting, RedisPendingRegistrationStore store, OtpEngine engine, CapturingOtpSender sender, BenchmarkClock clock, byte[] payload)
    {
        Console.WriteLine("## Commands per engine operation");
        Console.WriteLine();
        Console.WriteLine($"Each row: {Operations:N0} operations on distinct addresses; client = operations the store's multiplexer sent (StackExchange.Redis counters), server = INFO commandstats deltas (the INFO calls themselves excluded).");
        Console.WriteLine();
        Console.WriteLine("| operation | outcome | client commands / op | evalsha / op | eval / op | commands run inside the script / op |");
        Console.WriteLine("| :--- | :--- | ---: | ---: | ---: | ---: |");

        var addresses = Enumerable.Range(0, Operations).Select(i => EngineSetup.Address("rt", i)).ToArray();
        var flows = new string[Operations];
        var coldFlow = string.Empty;
        await Row("start (cold: empty script cache)", 1, OtpOutcome.Accepted, async i => Flow(await engine.StartAsync(EngineSetup.StartRequest("cold@example.com", payload)), out coldFlow));
        await Row("verify, wrong code (cold)", 1, OtpOutcome.InvalidCode, async i => (await engine.VerifyAsync(OtpPurpose.Signup, "cold@example.com", coldFlow, WrongCode(sender.CodeFor("cold@example.com")), null)).Outcome);
        await Row("start", Operations, OtpOutcome.Accepted, async i => Flow(await engine.StartAsync(EngineSetup.StartRequest(addresses[i], payload)), out flows[i]));
        await Row("verify, wrong code", Operations, OtpOutcome.InvalidCode, async i => (await engine.VerifyAsync(OtpPurpose.Signup, addresses[i], flows[i], WrongCode(sender.CodeFor(addresses[i])), null)).Outcome);
        clock.Advance(TimeSpan.FromMinutes(2));
        await Row("resend", Operations, OtpOutcome.Accepted, async i => (await engine.ResendAsync(OtpPurpose.Signup, addresses[i])).Outcome);
        await Row("verify, right code", Operations, OtpOutcome.Verified, async i => (await engine.VerifyAsync(OtpPurpose.Signup, addresses[i], flows[i], sender.CodeFor(addresses[i]), null)).Outcome);

        // The per-client limit (issue 14): its key is in another hash slot, so a start with a
        // client key sends the client check and the create together (two commands, one round
        // trip's latency); a refusal by the store also undoes the create; a refusal remembered
        // by the engine sends nothing.
        var limitOptions = EngineSetup.Options();
        limitOptions.Abuse.MaxSendsPerClientPerHour = 1;
        var limited = EngineSetup.Create(store, clock, sender, limitOptions);
        var clients = Enumerable.Range(0, Operations).Select(i => "198.51.100." + i.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")).ToArray();
        await Row("start with a client key (client check beside the create)", Operations, OtpOutcome.Accepted, async i => (await limited.StartAsync(WithClient(EngineSetup.Address("client-a", i), clients[i]))).Outcome);
        await Row("start, client over its limit: refused by the store, create undone", Operations, OtpOutcome.RateLimited, async i => (await limited.StartAsync(WithClient(EngineSetup.Address("client-b", i), clients[i]))).Outcome);
        await Row("start, client over its limit again: refusal remembered", Operations, OtpOutcome.RateLimited, async i => (await limited.StartAsync(WithClient(EngineSetup.Address("client-c", i), clients[i]))).Outcome);
        Console.WriteLine();

        OtpStartRequest WithClient(string address, string client) => new()
        {
            Purpose = OtpPurpose.Signup,
            Address = address,
            Destinations = [new OtpDestination(OtpChannel.Email, address)],
            Payload = payload,
            ClientKey = client,
        };

        static OtpOutcome Flow(OtpSendResult result, out string flowId)
        {
            flowId = result.FlowId ?? string.Empty;
            return result.Outcome;
        }

        async Task Row(string name, int count, OtpOutcome expected, Func<int, Task<OtpOutcome>> operation)
        {
            var before = await CommandStatsAsync(admin);
            var sentBefore = counting.GetCounters().Interactive.OperationCount;
            for (var i = 0; i < count; i++)
            {
                var outcome = await operation(i);
                if (outcome != expected)
                {
                    throw new InvalidOperationException($"{name} #{i}: {outcome}, expected {expected}");
                }
            }

            var sent = counting.GetCounters().Interactive.OperationCount - sentBefore;
            var after = await CommandStatsAsync(admin);
            var delta = after.ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key));
            delta["info"] -= 1;
            var evalsha = delta.GetValueOrDefault("evalsha");
            var eval = delta.GetValueOrDefault("eval");
            var inside = delta.Where(d => d.Key is not ("evalsha" or "eval" or "info" or "ping" or "echo")).Sum(d => d.Value);
            Console.WriteLine($"| {name} | {OtpVerification.Diagnostics.OtpMetrics.OutcomeName(expected)} | {Per(sent, count)} | {Per(evalsha, count)} | {Per(eval, count)} | {Per(inside, count)} |");
        }
    }

    private static async Task MemoryAsync(IConnectionMultiplexer admin, OtpEngine engine, byte[] payload, string? deviceId)
    {
        await Admin(admin, "FLUSHALL");
        var usedBefore = long.Parse(Field((string)(await Admin(admin, "INFO", "memory"))!, "used_memory"), CultureInfo.InvariantCulture);
        var keys = new List<PendingKey>(Registrations);
        for (var i = 0; i < Registrations; i++)
        {
            var address = EngineSetup.Address("mem", i);
            var request = EngineSetup.StartRequest(address, payload, deviceId);
            var result = await engine.StartAsync(request);
            if (result.Outcome != OtpOutcome.Accepted)
            {
                throw new InvalidOperationException($"memory start #{i}: {result.Outcome}");
            }

            keys.Add(new PendingKey(OtpPurpose.Signup, address));
        }

        var usedAfter = long.Parse(Field((string)(await Admin(admin, "INFO", "memory"))!, "used_memory"), CultureInfo.InvariantCulture);
        long reg = 0, pay = 0, lim = 0, worst = 0;
        var encodings = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var names = RedisKeys.For(Prefix, key, Hasher);
            var r = (long)await Admin(admin, "MEMORY", "USAGE", names.Registration, "SAMPLES", 0);
            var p = (long)await Admin(admin, "MEMORY", "USAGE", names.Payload, "SAMPLES", 0);
            var l = (long)await Admin(admin, "MEMORY", "USAGE", names.Limits, "SAMPLES", 0);
            encodings.Add((string)(await Admin(admin, "OBJECT", "ENCODING", names.Registration))!);
            reg += r;
            pay += p;
            lim += l;
            worst = Math.Max(worst, r + p + l);
        }

        double n = keys.Count;
        var all = (reg + pay + lim) / n;
        Console.WriteLine($"## MEMORY USAGE per pending registration ({(deviceId is null ? "no device id" : "bound to a device id")})");
        Console.WriteLine();
        Console.WriteLine($"{keys.Count:N0} registrations started through the engine; MEMORY USAGE <key> SAMPLES 0 averaged per registration; :reg is {string.Join("/", encodings)}.");
        Console.WriteLine();
        Console.WriteLine("| :reg | :pay | :lim | sum of the 3 keys | payload | sum − payload | worst sum − payload | :reg + :pay − payload | INFO used_memory delta / registration |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| {reg / n:F1} | {pay / n:F1} | {lim / n:F1} | {all:F1} | {payload.Length} | {all - payload.Length:F1} | {worst - payload.Length} | {((reg + pay) / n) - payload.Length:F1} | {(usedAfter - usedBefore) / n:F1} |");
        Console.WriteLine();
    }

    private static string WrongCode(string right) => right == "000000" ? "111111" : "000000";

    private static string Per(long total, int count) => (total / (double)count).ToString("0.##", CultureInfo.InvariantCulture);

    private static Task<RedisResult> Admin(IConnectionMultiplexer admin, string command, params object[] args) =>
        admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync(command, args);

    private static async Task<Dictionary<string, long>> CommandStatsAsync(IConnectionMultiplexer admin)
    {
        var info = (string)(await Admin(admin, "INFO", "commandstats"))!;
        return CommandStatLine().Matches(info).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static string Field(string info, string name)
    {
        var match = Regex.Match(info, "^" + Regex.Escape(name) + ":(.*)$", RegexOptions.Multiline);
        return match.Success ? match.Groups[1].Value.Trim() : "?";
    }

    [GeneratedRegex(@"^cmdstat_([a-z|]+):calls=(\d+)", RegexOptions.Multiline)]
    private static partial Regex CommandStatLine();
}
