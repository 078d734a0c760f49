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
            ["create:Allowed", "create:TooFrequent", "create:RateLimited", "resend:Allowed", "resend:NotFound", "verify:Success", "verify:Invalid", "verify:MaxAttempts", "verify:Expired", "verify:DeviceMismatch", "verify:NotFound"],
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

        var lastCode = new Dictionary<PendingKey, string>();
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
            var key = keys[random.Next(keys.Length)];
            var policy = Policies[random.Next(Policies.Length)];
            var operation = random.Next(6);

            // Verify and cancel mostly with the code last sent, so that they often match.
            var code = operation >= 3 && random.Next(10) < 5 && lastCode.TryGetValue(key, out var sent) ? sent : Codes[random.Next(Codes.Length)];
            var hash = Registrations.Hash(key, code);
            if (operation is 0 or 2)
            {
                lastCode[key] = code;
            }

            string expected, actual;
            switch (operation)
            {
                case 0:
                    var registration = new PendingRegistration
                    {
                        Key = key,
                        CodeHash = hash,
                        CodeExpiresAt = now + TimeSpan.FromMinutes(random.Next(1, 20)) + TimeSpan.FromTicks(random.Next(10_000)),
                        ExpiresAt = now + TimeSpan.FromMinutes(random.Next(5, 40)),
                        AttemptsLeft = random.Next(1, 4),
                        Destinations = random.Next(2) == 0
                            ? [new OtpDestination(OtpChannel.Email, key.Address)]
                            : [new OtpDestination(OtpChannel.Sms, "+33123456789"), new OtpDestination(OtpChannel.Email, key.Address)],
                        DeviceId = Devices[random.Next(Devices.Length)],
                        Payload = [.. Enumerable.Range(0, random.Next(0, 64)).Select(_ => (byte)random.Next(256))],
                    };
                    expected = Describe(await reference.CreateOrReplaceAsync(registration, policy, now));
                    actual = Describe(await store.CreateOrReplaceAsync(registration, policy, now));
                    break;
                case 1:
                    expected = Describe(await reference.ReserveSendAsync(key, policy, now));
                    actual = Describe(await store.ReserveSendAsync(key, policy, now));
                    break;
                case 2:
                    var codeExpiresAt = now + TimeSpan.FromMinutes(random.Next(1, 40));
                    var attempts = random.Next(1, 6);
                    expected = Describe(await reference.ResendAsync(key, hash, codeExpiresAt, attempts, policy, now));
                    actual = Describe(await store.ResendAsync(key, hash, codeExpiresAt, attempts, policy, now));
                    break;
                case 3:
                case 4:
                    var device = Devices[random.Next(Devices.Length)];
                    expected = Describe(await reference.VerifyAndConsumeAsync(key, hash, device, now));
                    actual = Describe(await store.VerifyAndConsumeAsync(key, hash, device, now));
                    break;
                default:
                    if (random.Next(2) == 0)
                    {
                        var remove = random.Next(2) == 0;
                        await reference.CancelSendAsync(key, hash, remove);
                        await store.CancelSendAsync(key, hash, remove);
                        expected = actual = "cancelled";
                    }
                    else
                    {
                        expected = (await reference.DeleteAsync(key)).ToString();
                        actual = (await store.DeleteAsync(key)).ToString();
                    }

                    break;
            }

            var outcome = $"{operation switch { 0 => "create", 1 => "reserve", 2 => "resend", 3 or 4 => "verify", _ => "cancel/delete" }}:{expected.Split(' ')[0]}";
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            actual.Should().Be(expected, $"seed {seed} step {step} (operation {operation}, {key}, {policy}) must answer as the reference store");
        }

    }

    private static string Describe(SendGateResult result) =>
        $"{result.Status} retry={result.RetryAfter.Ticks} {Describe(result.Registration)}";

    private static string Describe(StoreVerifyResult result) =>
        $"{result.Status} left={result.AttemptsLeft} {Describe(result.Registration)}";

    private static string Describe(PendingRegistration? r) => r is null
        ? "-"
        : $"[{r.Key} {Convert.ToHexString(r.CodeHash)} code-exp={r.CodeExpiresAt.UtcTicks} exp={r.ExpiresAt.UtcTicks} attempts={r.AttemptsLeft} "
          + $"to={string.Join("|", r.Destinations)} device={r.DeviceId ?? "(null)"} payload={Convert.ToHexString(r.Payload)}]";
}

/// <summary>The differential walk against a standalone redis-server.</summary>
public sealed class RedisStoreDifferentialTests(RedisServerFixture redis, ITestOutputHelper output) : RedisStoreDifferentialSuite(redis, output), IClassFixture<RedisServerFixture>;

/// <summary>The differential walk against a local Redis Cluster (3 masters, 3 replicas): keys spread over the masters.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterStoreDifferentialTests(RedisClusterFixture cluster, ITestOutputHelper output) : RedisStoreDifferentialSuite(cluster, output);
