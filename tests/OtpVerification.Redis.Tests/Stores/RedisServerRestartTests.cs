using System.Diagnostics;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using StackExchange.Redis;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The store and its connection when the server is stopped and started again on the same port. A server of its own.</summary>
public sealed class RedisServerRestartTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly DateTimeOffset Now = StoreClock.Start;

    [Fact]
    public async Task Store_ServerStoppedThenRestarted_FailsFastWhileDownAndRecoversByItself()
    {
        // As the store's own multiplexers: fail fast while disconnected (no backlog).
        var store = RedisTargetExtensions.CreateStore(await redis.ConnectAsync(configure: o => o.BacklogPolicy = BacklogPolicy.FailFast), "restart:");
        (await store.ReserveSendAsync(NewKey(), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);

        await redis.Server.StopAsync();
        await ConnectionWentDownAsync(store);
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            var act = async () => await store.ReserveSendAsync(NewKey(), Policy, Now);
            await act.Should().ThrowAsync<OtpStoreUnavailableException>();
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            await Task.Delay(20);
        }

        slowest.Should().BeLessThan(TimeSpan.FromMilliseconds(500), "calls fail fast while Redis is down, never waiting out a timeout");

        await redis.Server.StartAsync();
        var recovered = await Eventually.SucceedsAsync(async () => await store.ReserveSendAsync(NewKey(), Policy, Now));
        recovered.Status.Should().Be(SendGateStatus.Allowed, "the same store recovers without being recreated (and reloads its scripts)");
    }

    private static async Task ConnectionWentDownAsync(IPendingRegistrationStore store)
    {
        // The first call after the kill may be the one that notices; wait until calls fail.
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await store.ReserveSendAsync(NewKey(), Policy, Now);
                await Task.Delay(10);
            }
            catch (OtpStoreUnavailableException)
            {
                return;
            }
        }

        throw new InvalidOperationException("The store kept working with the server stopped.");
    }
}
