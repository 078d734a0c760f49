using System.Text;
using System.Text.RegularExpressions;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Xunit.Abstractions;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>What the store leaves in Redis: key names, TTLs, no plaintext, memory, and round trips.</summary>
public sealed partial class RedisStoreLayoutTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private const string Phone = "+14155550123";
    private const string Device = "device-7f3a9c";
    private const string Code = "482913";

    // Commands the scripts call inside Redis; commandstats counts those too.
    private static readonly HashSet<string> ScriptInternalCommands = ["hmget", "hget", "hset", "hdel", "del", "pexpire", "set", "get"];

    private readonly ManualTimeProvider _clock = StoreClock.Create();

    private DateTimeOffset Now => _clock.GetUtcNow();

    [Fact]
    public async Task Operations_EveryKeyTheyLeaveHasATtl()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        await ExerciseAsync(store);

        var keys = await ScanAsync(prefix);

        keys.Should().HaveCountGreaterThan(10);
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
    public async Task StoredValues_HoldNoCodeAddressPhoneOrDevice()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, code: Code, deviceId: Device, phone: Phone), Policy, Now);
        await store.VerifyAndConsumeAsync(key, Hash(key, "000000"), Device, Now);

        var dumps = new List<byte[]>();
        foreach (var k in await ScanAsync(prefix))
        {
            dumps.Add((byte[])(await redis.AdminAsync("DUMP", k))!);
            var type = (string?)await redis.AdminAsync("TYPE", k);
            var value = type == "hash" ? await redis.AdminAsync("HGETALL", k) : await redis.AdminAsync("GET", k);
            dumps.AddRange(value.Resp2Type == StackExchange.Redis.ResultType.Array ? ((StackExchange.Redis.RedisResult[])value!).Select(e => (byte[])e!) : [(byte[])value!]);
        }

        string[] secrets = [Code, key.Address, key.Address.Split('@')[0], Phone, Phone[1..], Device];
        foreach (var secret in secrets)
        {
            foreach (var encoded in new[] { Encoding.UTF8.GetBytes(secret), Encoding.Unicode.GetBytes(secret) })
            {
                dumps.Should().AllSatisfy(d => d.AsSpan().IndexOf(encoded).Should().Be(-1, $"'{secret}' must not be stored in plaintext"));
            }
        }
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
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: Guid.NewGuid().ToString(), payload: payload), Policy, Now);

        var usage = new Dictionary<string, long>();
        foreach (var k in await ScanAsync(prefix))
        {
            usage[k[(k.LastIndexOf(':') + 1)..]] = (long)await redis.AdminAsync("MEMORY", "USAGE", k, "SAMPLES", 0);
        }

        var encoding = (string?)await redis.AdminAsync("OBJECT", "ENCODING", (await ScanAsync(prefix)).Single(k => k.EndsWith(":reg", StringComparison.Ordinal)));
        var overhead = usage["reg"] + usage["pay"] - payload.Length;
        output.WriteLine($"payload {payload.Length} B: MEMORY USAGE reg={usage["reg"]} ({encoding}), pay={usage["pay"]}, lim={usage["lim"]}; registration beyond the payload = {overhead} B");
        encoding.Should().Be("listpack", "small fields keep the registration hash compact");
        // At most 400 bytes of fixed cost, plus jemalloc rounding the payload's allocation up to its
        // size class (classes are at most a quarter of the size apart).
        overhead.Should().BeLessThanOrEqualTo(400 + (payloadLength / 4));
        usage["lim"].Should().BeLessThanOrEqualTo(200);
    }

    [Fact]
    public async Task EachOperation_IsOneEvalshaRoundTrip()
    {
        var store = RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), "rt:", _clock);
        var key = NewKey();
        var registration = Create(key, Now);
        Func<Task>[] operations =
        [
            async () => await store.CreateOrReplaceAsync(registration, Policy, Now),
            async () => await store.ReserveSendAsync(key, Policy, Now),
            async () => await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(5), 5, Policy, Now + TimeSpan.FromMinutes(1)),
            async () => await store.VerifyAndConsumeAsync(key, Hash(key, "000000"), null, Now),
            async () => await store.CancelSendAsync(key, Hash(key, "777777"), false),
            async () => await store.VerifyAndConsumeAsync(key, Hash(key, "777777"), null, Now),
            async () => await store.DeleteAsync(key),
        ];

        // Warm up: the first call of each script sends it whole (EVAL); StackExchange.Redis then knows its SHA.
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

    private async Task ExerciseAsync(IPendingRegistrationStore store)
    {
        for (var i = 0; i < 4; i++)
        {
            var key = NewKey(i % 2 == 0 ? OtpPurpose.Signup : OtpPurpose.PasswordReset);
            await store.CreateOrReplaceAsync(Create(key, Now, deviceId: "d", phone: Phone), Policy, Now);
            await store.ReserveSendAsync(NewKey(), Policy, Now);
            await store.ResendAsync(NewKey(), Hash(key, "1"), Now + TimeSpan.FromMinutes(5), 5, Policy, Now);
            await store.VerifyAndConsumeAsync(key, Hash(key, "000000"), "d", Now);
            var later = Now + TimeSpan.FromMinutes(2);
            await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 5, Policy, later);
            await store.CancelSendAsync(key, Hash(key, "777777"), removeRegistration: false);
        }
    }

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

    private async Task<Dictionary<string, long>> CommandStatsAsync()
    {
        var info = (string)(await redis.AdminAsync("INFO", "commandstats"))!;
        return CommandStatLine().Matches(info).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^cmdstat_([a-z|]+):calls=(\d+)", RegexOptions.Multiline)]
    private static partial Regex CommandStatLine();
}
