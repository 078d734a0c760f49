using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The atomicity claims, under hundreds of parallel calls from two "app instances" (two multiplexers).</summary>
/// <param name="redis">The standalone server or the cluster.</param>
public abstract class RedisStoreConcurrencySuite(IRedisTarget redis)
{
    private static readonly DateTimeOffset Now = StoreClock.Start;

    [Fact]
    public async Task VerifyAndConsume_500ParallelWrongGuesses_EvaluatesExactlyMaxAttempts()
    {
        var (first, second) = await TwoInstancesAsync();
        var key = NewKey();
        await first.CreateOrReplaceAsync(Create(key, Now, attempts: 5), Policy, Now);

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).VerifyAsync(key, Hash(key, $"{i:000000}x"), null, Now))));

        results.Where(r => r.Status == StoreVerifyStatus.Invalid).Select(r => r.AttemptsLeft).Should().BeEquivalentTo([4, 3, 2, 1, 0]);
        results.Count(r => r.Status == StoreVerifyStatus.MaxAttempts).Should().Be(495);
    }

    [Fact]
    public async Task VerifyAndConsume_200ParallelRightCodes_SucceedsExactlyOnce()
    {
        var (first, second) = await TwoInstancesAsync();
        var key = NewKey();
        await first.CreateOrReplaceAsync(Create(key, Now), Policy, Now);

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).VerifyAsync(key, Hash(key, "123456"), null, Now))));

        results.Count(r => r.Status == StoreVerifyStatus.Success).Should().Be(1);
        results.Count(r => r.Status == StoreVerifyStatus.NotFound).Should().Be(199);
    }

    [Fact]
    public async Task VerifyAndConsume_200ParallelRightCodesWithTwoHashesAndWrongFlows_SucceedsExactlyOnceAndCountsNoFlowMismatch()
    {
        var (first, second) = await TwoInstancesAsync();
        var key = NewKey();
        await first.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);

        // Half of the callers hold an older flow: they are refused without an attempt counted.
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).VerifyAndConsumeAsync(key, i % 4 < 2 ? Flow : "flow-old", [Hash(key, "999999"), Hash(key, "123456")], null, Now))));

        results.Count(r => r.Status == StoreVerifyStatus.Success).Should().Be(1);
        results.Count(r => r.Status == StoreVerifyStatus.Success || r.Status == StoreVerifyStatus.NotFound).Should().Be(results.Count(r => r.Status != StoreVerifyStatus.FlowMismatch));
        results.Where(r => r.Status == StoreVerifyStatus.Success).Single().AttemptsLeft.Should().Be(2);
    }

    [Fact]
    public async Task CreateOrReplace_200ParallelStartsWithinCooldown_AllowsExactlyOne()
    {
        var (first, second) = await TwoInstancesAsync();
        var key = NewKey();

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).CreateOrReplaceAsync(Create(key, Now, code: $"{i:000000}"), Policy, Now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(1);
        results.Where(r => r.Status != SendGateStatus.Allowed).Should().AllSatisfy(r => r.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, Policy.Cooldown)));
    }

    [Fact]
    public async Task ReserveSend_300ParallelWithoutCooldown_AllowsExactlyTheWindowAllowance()
    {
        var (first, second) = await TwoInstancesAsync();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 7, TimeSpan.FromHours(1));

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).ReserveSendAsync(key, policy, Now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(7);
        results.Count(r => r.Status == SendGateStatus.RateLimited).Should().Be(293);
    }

    private async Task<(IPendingRegistrationStore First, IPendingRegistrationStore Second)> TwoInstancesAsync()
    {
        var prefix = "c" + Guid.NewGuid().ToString("N")[..8] + ":";
        return (RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), prefix), RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), prefix));
    }
}

/// <summary>The atomicity claims on a standalone redis-server.</summary>
public sealed class RedisStoreConcurrencyTests(RedisServerFixture redis) : RedisStoreConcurrencySuite(redis), IClassFixture<RedisServerFixture>;

/// <summary>The atomicity claims on a local Redis Cluster (3 masters, 3 replicas).</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterStoreConcurrencyTests(RedisClusterFixture cluster) : RedisStoreConcurrencySuite(cluster);
