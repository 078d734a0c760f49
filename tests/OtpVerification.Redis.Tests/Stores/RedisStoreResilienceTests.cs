using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The store when Redis forgets its scripts, runs out of memory, or holds a corrupt value.</summary>
public sealed class RedisStoreResilienceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly DateTimeOffset Now = StoreClock.Start;

    [Fact]
    public async Task Store_ScriptCacheFlushedMidRun_KeepsWorking()
    {
        var store = redis.CreateStore();
        var failures = 0;
        var completed = 0;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var key = NewKey();
                    await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
                    (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
                    Interlocked.Increment(ref completed);
                }
                catch (OtpStoreUnavailableException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        var evalsBefore = await EvalCallsAsync();

        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(30);
            await redis.AdminAsync("SCRIPT", "FLUSH");
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);
        failures.Should().Be(0);
        completed.Should().BePositive();
        (await EvalCallsAsync()).Should().BeGreaterThan(evalsBefore, "NOSCRIPT was answered by sending the script again");
    }

    [Fact]
    public async Task Store_MaxMemoryReached_RefusesSendsAsCapacityExceededAndWritesNothing()
    {
        var store = redis.CreateStore(out var prefix);
        var key = NewKey();
        await redis.AdminAsync("CONFIG", "SET", "maxmemory", "1");
        try
        {
            (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.CapacityExceeded);
            (await store.ReserveSendAsync(key, Policy, Now)).Status.Should().Be(SendGateStatus.CapacityExceeded);
        }
        finally
        {
            await redis.AdminAsync("CONFIG", "SET", "maxmemory", "0");
        }

        ((StackExchange.Redis.RedisResult[])(await redis.AdminAsync("KEYS", prefix + "*"))!).Should().BeEmpty();
        (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Verify_MaxMemoryReached_RefusesGuessesUnevaluatedAndUncounted()
    {
        var store = redis.CreateStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);

        await using (await OutOfMemoryAsync())
        {
            for (var i = 0; i < 10; i++)
            {
                var wrong = async () => await store.VerifyAsync(key, Hash(key, $"{i:D6}"), null, Now);
                await wrong.Should().ThrowAsync<OtpStoreUnavailableException>("a guess that cannot be counted is not evaluated");
            }

            var right = async () => await store.VerifyAsync(key, Hash(key, "123456"), null, Now);
            await right.Should().ThrowAsync<OtpStoreUnavailableException>("not even the right code is evaluated when the attempt cannot be counted");
        }

        var after = await store.VerifyAsync(key, Hash(key, "000000"), null, Now);
        after.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 2), "the refused guesses used no attempt");
    }

    [Fact]
    public async Task Verify_MaxMemoryComingAndGoing_RightCodeNotAcceptedWhileFullAfterMoreThanMaxAttemptsWrongGuesses()
    {
        var store = redis.CreateStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);
        var evaluated = 0;

        for (var round = 0; round < 2; round++)
        {
            await using (await OutOfMemoryAsync())
            {
                for (var i = 0; i < 5; i++)
                {
                    try
                    {
                        await store.VerifyAsync(key, Hash(key, $"9{round}{i}000"), null, Now);
                        evaluated++;
                    }
                    catch (OtpStoreUnavailableException)
                    {
                    }
                }
            }

            (await store.VerifyAsync(key, Hash(key, $"8{round}0000"), null, Now)).Status.Should().Be(StoreVerifyStatus.Invalid);
            evaluated++;
        }

        evaluated.Should().Be(2, "only the guesses made with memory to count them were evaluated");
        StoreVerifyResult? whileFull = null;
        await using (await OutOfMemoryAsync())
        {
            try
            {
                whileFull = await store.VerifyAsync(key, Hash(key, "123456"), null, Now);
            }
            catch (OtpStoreUnavailableException)
            {
            }
        }

        whileFull.Should().BeNull("12 wrong guesses were made, more than MaxAttempts: while full, not even the right code is evaluated");
        (await store.VerifyAsync(key, Hash(key, "000000"), null, Now)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 0), "exactly the two evaluated guesses were counted");
    }

    /// <summary>Sets <c>maxmemory</c> to 1 byte with <c>noeviction</c> until disposed.</summary>
    private async Task<IAsyncDisposable> OutOfMemoryAsync()
    {
        await redis.AdminAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await redis.AdminAsync("CONFIG", "SET", "maxmemory", "1");
        return new Restore(redis);
    }

    private sealed class Restore(RedisServerFixture redis) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await redis.AdminAsync("CONFIG", "SET", "maxmemory", "0");
    }

    [Fact]
    public async Task Store_ScriptError_ThrowsUnavailable()
    {
        var store = redis.CreateStore(out var prefix);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        var registrationKey = (string)((StackExchange.Redis.RedisResult[])(await redis.AdminAsync("KEYS", prefix + "*:reg"))!).Single()!;
        await redis.AdminAsync("DEL", registrationKey);
        await redis.AdminAsync("SET", registrationKey, "not a hash");

        var act = async () => await store.VerifyAsync(key, Hash(key, "123456"), null, Now);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("WRONGTYPE");
    }

    private async Task<long> EvalCallsAsync() => (await redis.CommandStatsAsync()).GetValueOrDefault("eval").Calls;
}
