using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Xunit.Abstractions;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>
/// Thousands of random operations, on random keys, policies and clock steps, run against the
/// Redis store and the in-memory reference store side by side: every answer must be identical.
/// </summary>
/// <param name="redis">The standalone server or the cluster.</param>
/// <param name="output">Where the outcome counts go.</param>
public abstract class RedisStoreDifferentialSuite(IRedisTarget redis, ITestOutputHelper output)
{
    private static readonly SendPolicy[] Policies =
    [
        new(TimeSpan.FromMinutes(1), 5, TimeSpan.FromHours(1)),
        new(TimeSpan.FromSeconds(30), 2, TimeSpan.FromMinutes(10)),
        new(TimeSpan.Zero, int.MaxValue, TimeSpan.FromHours(1)),
        new(TimeSpan.FromMinutes(3), 1, TimeSpan.FromMinutes(2)),
    ];

    private static readonly string[] Codes = ["111111", "222222", "333333"];
    private static readonly string?[] Devices = [null, null, "device-a", "device-b", string.Empty];

    [Fact]
    public async Task RandomOperations_AnswerExactlyAsTheInMemoryStore()
    {
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var seed in new[] { 1, 2, 3 })
        {
            await WalkAsync(seed, 1500, outcomes);
        }

        output.WriteLine("4500 operations matched: " + string.Join(", ", outcomes.Select(o => $"{o.Key}={o.Value}")));
        outcomes.Keys.Should().Contain(
            [
                "create:Allowed", "create:TooFrequent", "create:RateLimited", "resend:Allowed", "resend:NotFound",
                "verify:Success", "verify:Invalid", "verify:MaxAttempts", "verify:Expired", "verify:DeviceMismatch", "verify:NotFound", "verify:FlowMismatch",
                "redirect:True", "redirect:False", "putback:True", "putback:False", "cancel:restored", "cancel:removed", "delete:True",
            ],
            "the walk reaches every outcome");
    }

    private async Task WalkAsync(int seed, int steps, SortedDictionary<string, int> outcomes)
    {
        var clock = StoreClock.Create();
        var reference = new InMemoryPendingRegistrationStore(100_000, clock);
        var store = redis.CreateStore(clock);
        var random = new Random(seed);
        PendingKey[] keys =
        [
            new(OtpPurpose.Signup, "ana@example.com"),
            new(OtpPurpose.Signup, "+14155550123"),
            new(OtpPurpose.PasswordReset, "ana@example.com"),
            new(OtpPurpose.Signup, "bob@example.com"),
        ];

        // One policy per key: a key's limits changing from call to call is a configuration change,
        // which the stores need not answer alike (each prunes the sends the policy of its call forgets).
        var policies = Policies.OrderBy(_ => random.Next()).ToArray();
        var lastCode = new Dictionary<PendingKey, string>();
        var lastFlow = new Dictionary<PendingKey, string>();
        var consumed = new Dictionary<PendingKey, PendingRegistration>();
        var flows = 0;
        for (var step = 0; step < steps; step++)
        {
            clock.Advance(random.Next(50) switch
            {
                < 20 => TimeSpan.Zero,
                < 30 => TimeSpan.FromTicks(random.Next(1, 20_000)),
                < 45 => TimeSpan.FromSeconds(random.Next(1, 90)),
                < 49 => TimeSpan.FromMinutes(random.Next(1, 15)),
                _ => TimeSpan.FromMinutes(random.Next(15, 90)),
            });
            var now = clock.GetUtcNow();
            var index = random.Next(keys.Length);
            var key = keys[index];
            var policy = policies[index];
            var operation = random.Next(10);

            // Verify, cancel and redirect mostly with the code last sent, so that they often match.
            var code = operation >= 3 && random.Next(10) < 6 && lastCode.TryGetValue(key, out var sent) ? sent : Codes[random.Next(Codes.Length)];
            var hash = Registrations.Hash(key, code);
            if (operation is 0 or 2)
            {
                lastCode[key] = code;
            }

            string name, expected, actual;
            switch (operation)
            {
                case 0:
                    name = "create";
                    var flowId = $"flow-{seed}-{++flows}";
                    lastFlow[key] = flowId;
                    OtpDestination[] destinations = random.Next(2) == 0
                        ? [new OtpDestination(OtpChannel.Email, key.Address)]
                        : [new OtpDestination(OtpChannel.Sms, "+33123456789"), new OtpDestination(OtpChannel.Email, key.Address)];
                    var registration = new PendingRegistration
                    {
                        Key = key,
                        FlowId = flowId,
                        CodeHash = hash,
                        CodeExpiresAt = now + TimeSpan.FromMinutes(random.Next(1, 20)) + TimeSpan.FromTicks(random.Next(10_000)),
                        ExpiresAt = now + TimeSpan.FromMinutes(random.Next(5, 40)),
                        AttemptsLeft = random.Next(1, 4),
                        Destinations = destinations,
                        DeliveredTo = destinations[0],
                        DeviceId = Devices[random.Next(Devices.Length)],
                        Decoy = key.Purpose == OtpPurpose.PasswordReset && random.Next(3) == 0,
                        Payload = [.. Enumerable.Range(0, random.Next(0, 64)).Select(_ => (byte)random.Next(256))],
                    };
                    expected = Describe(await reference.CreateOrReplaceAsync(registration, policy, now));
                    actual = Describe(await store.CreateOrReplaceAsync(registration, policy, now));
                    break;
                case 1:
                    name = "reserve";
                    expected = Describe(await reference.ReserveSendAsync(key, policy, now));
                    actual = Describe(await store.ReserveSendAsync(key, policy, now));
                    break;
                case 2:
                    name = "resend";
                    var codeExpiresAt = now + TimeSpan.FromMinutes(random.Next(1, 40));
                    var attempts = random.Next(1, 6);
                    expected = Describe(await reference.ResendAsync(key, hash, codeExpiresAt, attempts, policy, now));
                    actual = Describe(await store.ResendAsync(key, hash, codeExpiresAt, attempts, policy, now));
                    break;
                case 3:
                case 4:
                    name = "verify";
                    var device = Devices[random.Next(Devices.Length)];
                    var flow = random.Next(8) > 0 && lastFlow.TryGetValue(key, out var held) ? held : "flow-stale";

                    // One hash per hash key in use: sometimes a second one, in either order.
                    byte[][] hashes = random.Next(3) switch
                    {
                        0 => [hash],
                        1 => [Registrations.Hash(key, Codes[random.Next(Codes.Length)]), hash],
                        _ => [hash, Registrations.Hash(key, Codes[random.Next(Codes.Length)])],
                    };
                    var verified = await reference.VerifyAndConsumeAsync(key, flow, hashes, device, now);
                    expected = Describe(verified);
                    actual = Describe(await store.VerifyAndConsumeAsync(key, flow, hashes, device, now));
                    if (verified.Registration is { } taken)
                    {
                        consumed[key] = taken;
                    }

                    break;
                case 5:
                    name = "cancel";
                    await reference.CancelSendAsync(key, hash);
                    await store.CancelSendAsync(key, hash);

                    // What the undo left is compared by the probe below.
                    expected = await ProbeAsync(reference, key, lastFlow, now);
                    actual = await ProbeAsync(store, key, lastFlow, now);
                    break;
                case 6:
                    name = "redirect";
                    var fallback = new OtpDestination(OtpChannel.Email, key.Address);
                    var next = Codes[random.Next(Codes.Length)];
                    var moved = await reference.RedirectAsync(key, hash, Registrations.Hash(key, next), fallback);
                    expected = moved.ToString();
                    actual = (await store.RedirectAsync(key, hash, Registrations.Hash(key, next), fallback)).ToString();
                    if (moved)
                    {
                        lastCode[key] = next;
                    }

                    break;
                case 7:
                    name = "putback";
                    if (!consumed.TryGetValue(key, out var back))
                    {
                        goto default;
                    }

                    expected = (await reference.PutBackAsync(back, now)).ToString();
                    actual = (await store.PutBackAsync(back, now)).ToString();
                    if (expected == bool.TrueString)
                    {
                        lastFlow[key] = back.FlowId;
                    }

                    break;
                default:
                    name = "delete";
                    expected = (await reference.DeleteAsync(key)).ToString();
                    actual = (await store.DeleteAsync(key)).ToString();
                    break;
            }

            var outcome = $"{name}:{expected.Split(' ')[0]}";
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            actual.Should().Be(expected, $"seed {seed} step {step} ({name}, {key}, {policy}) must answer as the reference store");
        }
    }

    /// <summary>
    /// What a cancel left, read without changing it: a verify with a flow no one holds is refused
    /// (FlowMismatch) when a registration is there and NotFound otherwise, and counts nothing.
    /// </summary>
    private static async Task<string> ProbeAsync(IPendingRegistrationStore store, PendingKey key, Dictionary<PendingKey, string> lastFlow, DateTimeOffset now)
    {
        var status = (await store.VerifyAndConsumeAsync(key, "flow-probe", [[0]], null, now)).Status;
        var flowOk = lastFlow.TryGetValue(key, out var flow) ? (await store.VerifyAndConsumeAsync(key, flow, [[0]], "probe-device", now)).Status.ToString() : "-";
        return (status == StoreVerifyStatus.FlowMismatch ? "restored" : "removed") + " " + flowOk;
    }

    private static string Describe(SendGateResult result) =>
        $"{result.Status} retry={result.RetryAfter.Ticks} {Describe(result.Registration)}";

    private static string Describe(StoreVerifyResult result) =>
        $"{result.Status} left={result.AttemptsLeft} {Describe(result.Registration)}";

    private static string Describe(PendingRegistration? r) => r is null
        ? "-"
        : $"[{r.Key} {Convert.ToHexString(r.CodeHash)} code-exp={r.CodeExpiresAt.UtcTicks} exp={r.ExpiresAt.UtcTicks} attempts={r.AttemptsLeft} "
          + $"to={string.Join("|", r.Destinations)} delivered={r.DeliveredTo} device={r.DeviceId ?? "(null)"} flow={r.FlowId} decoy={r.Decoy} payload={Convert.ToHexString(r.Payload)}]";
}

/// <summary>The differential walk against a standalone redis-server.</summary>
public sealed class RedisStoreDifferentialTests(RedisServerFixture redis, ITestOutputHelper output) : RedisStoreDifferentialSuite(redis, output), IClassFixture<RedisServerFixture>;

/// <summary>The differential walk against a local Redis Cluster (3 masters, 3 replicas): keys spread over the masters.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterStoreDifferentialTests(RedisClusterFixture cluster, ITestOutputHelper output) : RedisStoreDifferentialSuite(cluster, output);
