using System.Text;
using OtpVerification.Redis.Stores;
using StackExchange.Redis;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Xunit.Abstractions;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>What the store leaves in Redis: key names, TTLs, no plaintext, memory, and round trips.</summary>
public sealed class RedisStoreLayoutTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private const string Phone = "+14155550123";
    private const string Device = "device-7f3a9c";
    private const string Code = "482913";

    // Commands the scripts call inside Redis; commandstats counts those too.
    private static readonly HashSet<string> ScriptInternalCommands =
    [
        "hmget", "hget", "hset", "hdel", "del", "pexpire", "set", "get", "exists", "rename",
        "zadd", "zremrangebyscore", "zrevrange", "zcount", "zrange", "zpopmax",
    ];

    // A flow id as the engine makes them: 22 base64url characters (128 bits).
    private const string FlowId = "Zk3vQ9xLm2PwT7aRb1cYdE";

    private readonly FakeTimeProvider _clock = StoreClock.Create();

    private DateTimeOffset Now => _clock.GetUtcNow();

    [Fact]
    public async Task Operations_EveryKeyTheyLeaveHasATtl()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        await ExerciseAsync(store);

        var keys = await ScanAsync(prefix);

        keys.Should().HaveCountGreaterThan(10);
        keys.Select(k => k[(k.LastIndexOf(':') + 1)..]).Distinct().Should().BeEquivalentTo(["reg", "pay", "lim", "oreg", "opay"], "every kind of key is checked");
        foreach (var key in keys)
        {
            ((long)await redis.AdminAsync("PTTL", key)).Should().BePositive($"{key} must expire");
        }
    }

    [Fact]
    public async Task Resend_CodeOutlivingTheEntry_ExtendsTheTtlOfTheRegistrationKeys()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, lifetime: TimeSpan.FromMinutes(5), codeLifetime: TimeSpan.FromMinutes(2)), Policy, Now);
        var later = Now + Policy.Cooldown;

        await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 5, Policy, later);

        var keys = await ScanAsync(prefix);
        foreach (var name in keys.Where(k => k.EndsWith(":reg", StringComparison.Ordinal) || k.EndsWith(":pay", StringComparison.Ordinal)))
        {
            // Ten minutes from the resend, not the five of the entry it replaced.
            ((long)await redis.AdminAsync("PTTL", name)).Should().BeGreaterThan((long)TimeSpan.FromMinutes(9).TotalMilliseconds, name);
        }

        keys.Should().HaveCount(3);
    }

    [Fact]
    public async Task Registration_KeysShareOneHashTagAndNameNoAddress()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, phone: Phone), Policy, Now);

        var keys = await ScanAsync(prefix);

        keys.Should().HaveCount(3);
        keys.Select(k => k[..(k.IndexOf('}', StringComparison.Ordinal) + 1)]).Distinct().Should().ContainSingle("one hash slot for all keys of an address");
        keys.Select(k => k[(k.IndexOf('}', StringComparison.Ordinal) + 1)..]).Should().BeEquivalentTo([":reg", ":pay", ":lim"]);
        keys.Should().AllSatisfy(k => k.Should().StartWith(prefix + "{signup:").And.NotContain("example.com").And.NotContain("user-"));
    }

    [Fact]
    public async Task StoredValues_HoldNoCodeAddressPhoneDeviceOrFlowId()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, code: Code, deviceId: Device, phone: Phone, flowId: FlowId), Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), Device, Now, FlowId);

        // A restart keeps the first registration aside (:oreg, :opay), then its code is moved to the phone (w).
        var later = Now + Policy.Cooldown;
        var restart = Create(key, later, code: "555555", deviceId: Device, phone: Phone, flowId: FlowId + "2");
        await store.CreateOrReplaceAsync(restart, Policy, later);
        (await store.RedirectAsync(key, restart.CodeHash, Hash(key, Code), new OtpDestination(OtpChannel.Sms, Phone))).Should().BeTrue();

        var dumps = new List<byte[]>();
        var keys = await ScanAsync(prefix);
        keys.Select(k => k[(k.LastIndexOf(':') + 1)..]).Should().BeEquivalentTo(["reg", "pay", "lim", "oreg", "opay"]);
        foreach (var k in keys)
        {
            dumps.Add((byte[])(await redis.AdminAsync("DUMP", k))!);
            var value = (string?)await redis.AdminAsync("TYPE", k) switch
            {
                "hash" => await redis.AdminAsync("HGETALL", k),
                "zset" => await redis.AdminAsync("ZRANGE", k, 0, -1, "WITHSCORES"),
                _ => await redis.AdminAsync("GET", k),
            };
            dumps.AddRange(Flatten(value).Select(e => (byte[])e!));
        }

        string[] secrets = [Code, "555555", key.Address, key.Address.Split('@')[0], Phone, Phone[1..], Device, FlowId];
        foreach (var secret in secrets)
        {
            foreach (var encoded in new[] { Encoding.UTF8.GetBytes(secret), Encoding.Unicode.GetBytes(secret) })
            {
                dumps.Should().AllSatisfy(d => d.AsSpan().IndexOf(encoded).Should().Be(-1, $"'{secret}' must not be stored in plaintext"));
            }
        }
    }

    [Fact]
    public async Task Registration_IsAHashOfTheDocumentedFields()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: Device, phone: Phone, flowId: FlowId), Policy, Now);
        var registrationKey = (await ScanAsync(prefix)).Single(k => k.EndsWith(":reg", StringComparison.Ordinal));

        var fields = ((StackExchange.Redis.RedisResult[])(await redis.AdminAsync("HKEYS", registrationKey))!).Select(e => (string?)e).ToList();

        fields.Should().BeEquivalentTo(["h", "c", "e", "a", "ia", "f", "d", "u"], "code hash, code expiry, expiry, attempts, attempts when sent, flow hash, device hash, undo kind");
        ((string?)await redis.AdminAsync("HGET", registrationKey, "a")).Should().Be("5");
        ((string?)await redis.AdminAsync("HGET", registrationKey, "e")).Should().Be(RedisPendingRegistrationStore.Instant(Now + TimeSpan.FromMinutes(30)), "instants are ticks since 2020, to the tick");
        ((byte[]?)await redis.AdminAsync("HGET", registrationKey, "f")).Should().HaveCount(16, "only a hash of the flow id is compared");
    }

    [Fact]
    public async Task Resend_KeepsThePreviousCodeAsideAndRedirectRecordsTheDestination()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, phone: Phone), Policy, Now);
        var later = Now + Policy.Cooldown;
        await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 5, Policy, later);
        await store.RedirectAsync(key, Hash(key, "777777"), Hash(key, "888888"), new OtpDestination(OtpChannel.Sms, Phone));
        var registrationKey = (await ScanAsync(prefix)).Single(k => k.EndsWith(":reg", StringComparison.Ordinal));

        var fields = ((StackExchange.Redis.RedisResult[])(await redis.AdminAsync("HKEYS", registrationKey))!).Select(e => (string?)e).ToList();

        fields.Should().BeEquivalentTo(["h", "c", "e", "a", "ia", "f", "u", "ph", "pc", "pa", "pe", "w"]);
        ((string?)await redis.AdminAsync("HGET", registrationKey, "u")).Should().Be("r", "a resend's undo puts back the previous code");
        ((byte[]?)await redis.AdminAsync("HGET", registrationKey, "ph")).Should().Equal(Hash(key, "123456"));
        ((byte[]?)await redis.AdminAsync("HGET", registrationKey, "h")).Should().Equal(Hash(key, "888888"));
    }

    [Fact]
    public async Task Limits_AreASortedSetOfSendInstantsExpiringWithTheWindow()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        var first = Now;
        var second = Now + Policy.Cooldown + TimeSpan.FromTicks(7);
        await store.ReserveSendAsync(key, Policy, first);
        await store.ReserveSendAsync(key, Policy, second);
        var limitKey = (await ScanAsync(prefix)).Single();

        var members = Flatten(await redis.AdminAsync("ZRANGE", limitKey, 0, -1, "WITHSCORES")).Select(e => (string?)e).ToList();

        limitKey.Should().EndWith(":lim");
        ((string?)await redis.AdminAsync("TYPE", limitKey)).Should().Be("zset");
        members.Where((_, i) => i % 2 == 1).Should().Equal(RedisPendingRegistrationStore.Instant(first), RedisPendingRegistrationStore.Instant(second));
        var ttl = ((long)await redis.AdminAsync("PTTL", limitKey));
        ttl.Should().BeInRange((long)(Policy.Window - Policy.Cooldown).TotalMilliseconds, (long)Policy.Window.TotalMilliseconds + 1, "the set lives until its latest send leaves the window");
    }

    [Fact]
    public async Task Restart_KeepsTheReplacedRegistrationAsideWithATtl()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, lifetime: TimeSpan.FromMinutes(30)), Policy, Now);
        var later = Now + TimeSpan.FromMinutes(5);

        await store.CreateOrReplaceAsync(Create(key, later, code: "654321", lifetime: TimeSpan.FromMinutes(10), flowId: "flow-2"), Policy, later);

        var keys = await ScanAsync(prefix);
        keys.Select(k => k[(k.LastIndexOf(':') + 1)..]).Should().BeEquivalentTo(["reg", "pay", "lim", "oreg", "opay"]);
        foreach (var name in keys.Where(k => k.EndsWith(":oreg", StringComparison.Ordinal) || k.EndsWith(":opay", StringComparison.Ordinal)))
        {
            // The replaced entry keeps its own TTL (30 minutes from the start), not the restart's ten.
            ((long)await redis.AdminAsync("PTTL", name)).Should().BeGreaterThan((long)TimeSpan.FromMinutes(20).TotalMilliseconds, name);
        }
    }

    [Fact]
    public async Task Restart_DeliveredThenVerified_LeavesNoReplacedRegistration()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        var later = Now + Policy.Cooldown;
        await store.CreateOrReplaceAsync(Create(key, later, code: "654321", flowId: "flow-2"), Policy, later);

        (await store.VerifyAsync(key, Hash(key, "654321"), null, later, "flow-2")).Status.Should().Be(StoreVerifyStatus.Success);

        (await ScanAsync(prefix)).Should().ContainSingle().Which.Should().EndWith(":lim", "verify removes the registration and what the restart kept aside");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(120)]
    [InlineData(300)]
    [InlineData(1000)]
    public async Task MemoryUsage_PerRegistration_IsWithinBudget(int payloadLength)
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = new PendingKey(OtpPurpose.Signup, "ana.maria.rodrigues@example.com");
        var payload = new byte[payloadLength];
        Random.Shared.NextBytes(payload);
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: Guid.NewGuid().ToString(), payload: payload, flowId: FlowId), Policy, Now);

        var usage = new Dictionary<string, long>();
        foreach (var k in await ScanAsync(prefix))
        {
            usage[k[(k.LastIndexOf(':') + 1)..]] = (long)await redis.AdminAsync("MEMORY", "USAGE", k, "SAMPLES", 0);
        }

        var encoding = (string?)await redis.AdminAsync("OBJECT", "ENCODING", (await ScanAsync(prefix)).Single(k => k.EndsWith(":reg", StringComparison.Ordinal)));
        var overhead = usage["reg"] + usage["pay"] - payload.Length;
        output.WriteLine($"payload {payload.Length} B: MEMORY USAGE reg={usage["reg"]} ({encoding}), pay={usage["pay"]}, lim={usage["lim"]}; registration beyond the payload = {overhead} B");
        encoding.Should().Be("listpack", "small fields keep the registration hash compact");
        // At most 480 bytes of fixed cost (400 before flow binding added the flow hash field, the
        // undo marker, the sealed flow id and the attempts-when-sent field), plus jemalloc rounding the payload's allocation up to
        // its size class (classes are at most a quarter of the size apart).
        overhead.Should().BeLessThanOrEqualTo(480 + (payloadLength / 4));
        usage["lim"].Should().BeLessThanOrEqualTo(200);
    }

    [Fact]
    public async Task EachOperation_IsOneEvalshaRoundTrip()
    {
        var operations = EveryOperation(RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), "rt:", _clock));

        // Warm up: the first call of each script is answered NOSCRIPT and sent again whole (EVAL), which loads it.
        foreach (var operation in operations)
        {
            await operation();
        }

        foreach (var operation in operations)
        {
            var before = await CommandStatsAsync();
            await operation();
            var after = await CommandStatsAsync();

            var delta = after.Where(a => a.Value != before.GetValueOrDefault(a.Key)).ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key));
            delta.Should().Contain("evalsha", 1, "the store sends one EVALSHA per operation");
            delta.Keys.Except(["evalsha", "info", "ping", "echo"]).Should().BeSubsetOf(ScriptInternalCommands, "nothing but the script's own calls run besides the one EVALSHA (and the admin connection's INFO, the multiplexers' heartbeats)");
        }
    }

    [Fact]
    public async Task EachOperation_IsFoundByItsPrecomputedHash()
    {
        // The store sends EVALSHA with the SHA-1 it computed; a NOSCRIPT answer costs a second
        // round trip with the whole text. Once loaded, no operation may be answered NOSCRIPT, and
        // Redis must know every script under the store's own hash.
        var operations = EveryOperation(RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), "sha:", _clock));
        foreach (var operation in operations)
        {
            await operation();
        }

        var failedBefore = await EvalShaFailuresAsync();
        for (var round = 0; round < 3; round++)
        {
            foreach (var operation in operations)
            {
                await operation();
            }
        }

        (await EvalShaFailuresAsync()).Should().Be(failedBefore, "no EVALSHA of a loaded script is answered NOSCRIPT");
        StoreScript[] scripts =
        [
            RedisStoreScripts.Create, RedisStoreScripts.Reserve, RedisStoreScripts.Resend, RedisStoreScripts.Redirect, RedisStoreScripts.Verify,
            RedisStoreScripts.CancelSend, RedisStoreScripts.PutBack, RedisStoreScripts.ConsumeOnce, RedisStoreScripts.Delete,
        ];
        foreach (var script in scripts)
        {
            var exists = (RedisResult[])(await redis.AdminAsync("SCRIPT", "EXISTS", script.ToString()))!;
            ((long)exists[0]).Should().Be(1, "Redis knows the script by the hash the store sends ({0})", script);
        }
    }

    /// <summary>One call of every store operation on one address, in an order where each does its work (create, check, resend, guess, undo, verify, redirect, put back, delete, single use).</summary>
    private Func<Task>[] EveryOperation(IPendingRegistrationStore store)
    {
        var key = NewKey();
        var registration = Create(key, Now);
        return
        [
            async () => await store.CreateOrReplaceAsync(registration, Policy, Now),
            async () => await store.ReserveSendAsync(key, Policy, Now),
            async () => await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(5), 5, Policy, Now + TimeSpan.FromMinutes(1)),
            async () => await store.VerifyAsync(key, Hash(key, "000000"), null, Now),
            async () => await store.CancelSendAsync(key, Hash(key, "777777")),
            async () => await store.VerifyAsync(key, Hash(key, "123456"), null, Now),
            async () => await store.RedirectAsync(key, Hash(key, "123456"), Hash(key, "888888"), new OtpDestination(OtpChannel.Email, key.Address)),
            async () => await store.PutBackAsync(registration, Now),
            async () => await store.DeleteAsync(key),
            async () => await store.ConsumeOnceAsync(NewKey(), Now + TimeSpan.FromMinutes(5), Now),
        ];
    }

    private async Task<long> EvalShaFailuresAsync()
    {
        // Failed: errors while running (NOSCRIPT is one); rejected: refused before running.
        var evalsha = (await redis.CommandStatsAsync()).GetValueOrDefault("evalsha");
        return evalsha.Failed + evalsha.Rejected;
    }

    [Fact]
    public async Task SendChecks_RunFewCommandsInsideTheScript()
    {
        // What a start costs Redis is mostly the commands its scripts run: a create for a new
        // address finds no latest send (ZREVRANGE), takes a slot (ZADD NX, PEXPIRE) and writes the
        // entry (HGET, DEL, HSET, PEXPIRE, SET); a check refused by the cooldown only reads.
        var store = RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), "cost:", _clock);
        var warm = NewKey();
        await store.CreateOrReplaceAsync(Create(warm, Now), Policy, Now);
        await store.ReserveSendAsync(NewKey(), Policy, Now);

        var key = NewKey();
        (await InnerCommandsAsync(async () => (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed)))
            .Should().Be(8, "a create for a new address");
        var client = NewKey();
        (await InnerCommandsAsync(async () => (await store.ReserveSendAsync(client, Policy, Now)).Status.Should().Be(SendGateStatus.Allowed)))
            .Should().Be(3, "a send check that takes a slot");
        (await InnerCommandsAsync(async () => (await store.ReserveSendAsync(client, Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent)))
            .Should().Be(1, "a send check refused by the cooldown only reads");
    }

    /// <summary>The commands the scripts ran inside Redis while <paramref name="operation"/> ran (INFO commandstats deltas of the commands scripts call).</summary>
    private async Task<long> InnerCommandsAsync(Func<Task> operation)
    {
        var before = await CommandStatsAsync();
        await operation();
        var after = await CommandStatsAsync();
        return after.Where(a => ScriptInternalCommands.Contains(a.Key)).Sum(a => a.Value - before.GetValueOrDefault(a.Key));
    }

    private async Task ExerciseAsync(IPendingRegistrationStore store)
    {
        for (var i = 0; i < 4; i++)
        {
            var key = NewKey(i % 2 == 0 ? OtpPurpose.Signup : OtpPurpose.PasswordReset);
            await store.CreateOrReplaceAsync(Create(key, Now, deviceId: "d", phone: Phone), Policy, Now);
            await store.ReserveSendAsync(NewKey(), Policy, Now);
            await store.ResendAsync(NewKey(), Hash(key, "1"), Now + TimeSpan.FromMinutes(5), 5, Policy, Now);
            await store.VerifyAsync(key, Hash(key, "000000"), "d", Now);
            var later = Now + TimeSpan.FromMinutes(2);
            await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 5, Policy, later);
            await store.RedirectAsync(key, Hash(key, "777777"), Hash(key, "888888"), new OtpDestination(OtpChannel.Sms, Phone));
            await store.CancelSendAsync(key, Hash(key, "888888"));

            // A restart keeps the registration it replaced aside (:oreg, :opay).
            var restartAt = Now + TimeSpan.FromMinutes(4);
            await store.CreateOrReplaceAsync(Create(key, restartAt, code: "654321", deviceId: "d", phone: Phone, flowId: "flow-2"), Policy, restartAt);
            var other = NewKey();
            await store.PutBackAsync(Create(other, Now, flowId: "flow-3"), Now);
        }
    }

    /// <summary>The scalar values of a reply, in order: RESP3 answers ZRANGE WITHSCORES and HGETALL with nested pairs.</summary>
    private static IEnumerable<StackExchange.Redis.RedisResult> Flatten(StackExchange.Redis.RedisResult reply) =>
        reply.Resp2Type == StackExchange.Redis.ResultType.Array && !reply.IsNull
            ? ((StackExchange.Redis.RedisResult[])reply!).SelectMany(Flatten)
            : [reply];

    private async Task<List<string>> ScanAsync(string prefix)
    {
        var keys = new List<string>();
        var cursor = "0";
        do
        {
            var reply = (StackExchange.Redis.RedisResult[])(await redis.AdminAsync("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000))!;
            cursor = (string)reply[0]!;
            keys.AddRange(((StackExchange.Redis.RedisResult[])reply[1]!).Select(e => (string)e!));
        }
        while (cursor != "0");
        return keys;
    }

    private async Task<Dictionary<string, long>> CommandStatsAsync() =>
        (await redis.CommandStatsAsync()).ToDictionary(s => s.Key, s => s.Value.Calls, StringComparer.Ordinal);
}
