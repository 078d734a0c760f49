using System.Collections.Concurrent;
using System.Diagnostics;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using StackExchange.Redis;
using Xunit.Abstractions;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>
/// A master of a Redis Cluster (3 masters, 3 replicas) is killed under parallel starts and wrong
/// guesses. A cluster of its own: this class kills one of its nodes.
/// </summary>
public sealed class RedisClusterFailoverTests(RedisClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RedisClusterFixture>, IAsyncDisposable
{
    private const int MaxAttempts = 5;
    private static readonly SendPolicy Unlimited = new(TimeSpan.Zero, int.MaxValue, TimeSpan.FromHours(1));

    private readonly RedisMultiplexerSource _source = RedisMultiplexerSource.Owned(ConfigurationOptions.Parse(cluster.ConnectionString));

    [Fact]
    public async Task Store_MasterKilledUnderLoad_AnswersOrUnavailableOnlyRecoversWithin15sAndNeverExceedsMaxAttempts()
    {
        // The store as AddRedisStore builds it from a connection string (its own multiplexer).
        var store = new RedisPendingRegistrationStore(_source, Hasher, "fo:");
        var now = DateTimeOffset.UtcNow;
        var guessed = Enumerable.Range(0, 60).Select(i => new PendingKey(OtpPurpose.Signup, $"guessed-{i}@example.com")).ToArray();
        foreach (var key in guessed)
        {
            (await store.CreateOrReplaceAsync(Create(key, now, attempts: MaxAttempts), Unlimited, now)).Status.Should().Be(SendGateStatus.Allowed);
        }

        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(10));
        var evaluations = new ConcurrentDictionary<PendingKey, int>();
        var faults = new ConcurrentQueue<Exception>();
        var unavailable = 0;
        var answered = 0;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    if (n % 2 == 0)
                    {
                        var fresh = NewKey();
                        var gate = await store.CreateOrReplaceAsync(Create(fresh, now), Unlimited, now);
                        gate.Status.Should().Be(SendGateStatus.Allowed);
                    }
                    else
                    {
                        var key = guessed[random.Next(guessed.Length)];
                        var result = await store.VerifyAsync(key, Hash(key, random.Next(200_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture)), null, now);
                        result.Status.Should().BeOneOf(StoreVerifyStatus.Invalid, StoreVerifyStatus.MaxAttempts, StoreVerifyStatus.NotFound);
                        if (result.Status == StoreVerifyStatus.Invalid)
                        {
                            evaluations.AddOrUpdate(key, 1, (_, c) => c + 1);
                        }
                    }

                    Interlocked.Increment(ref answered);
                }
                catch (OtpStoreUnavailableException)
                {
                    Interlocked.Increment(ref unavailable);
                    await Task.Delay(5);
                }
                catch (Exception ex)
                {
                    faults.Enqueue(ex);
                }
            }
        })).ToArray();

        await Task.Delay(300);
        var victim = (await cluster.MastersAsync())[0];
        await victim.StopAsync();
        var killed = Stopwatch.StartNew();
        await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));
        var promotedAfter = killed.Elapsed;
        var promoted = Stopwatch.StartNew();

        // Every address, on every master, is served again without any restart of the store.
        await Eventually.SucceedsAsync(
            async () =>
            {
                foreach (var key in guessed)
                {
                    await store.ReserveSendAsync(new PendingKey(OtpPurpose.PasswordReset, key.Address), Unlimited, now);
                }

                return true;
            },
            TimeSpan.FromSeconds(15));
        var recoveredAfter = promoted.Elapsed;
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        output.WriteLine($"killed master :{victim.Port}; promotion after {promotedAfter.TotalSeconds:F1} s; served again {recoveredAfter.TotalSeconds:F1} s after the promotion; {answered} answers, {unavailable} unavailable; most evaluations of one code: {evaluations.Values.DefaultIfEmpty().Max()}");
        faults.Should().BeEmpty("a failover is answered or refused as unavailable (503), never another fault (500) or a wrong answer");
        recoveredAfter.Should().BeLessThan(TimeSpan.FromSeconds(15));
        evaluations.Values.Should().AllSatisfy(c => c.Should().BeLessThanOrEqualTo(MaxAttempts), "no code ever gets more than MaxAttempts evaluations");
        foreach (var key in guessed.Where(k => evaluations.GetValueOrDefault(k) >= MaxAttempts))
        {
            (await store.VerifyAsync(key, Hash(key, "123456"), null, now)).Status.Should().NotBe(StoreVerifyStatus.Success, "the right code is refused after MaxAttempts wrong guesses");
        }
    }

    public async ValueTask DisposeAsync() => await _source.DisposeAsync();
}
