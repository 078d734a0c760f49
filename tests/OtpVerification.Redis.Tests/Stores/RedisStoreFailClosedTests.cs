using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>
/// Verify fails closed when Redis cannot write (<c>maxmemory</c> reached, policy <c>noeviction</c>):
/// the attempt is counted before any hash is compared, so a guess that cannot be counted is never
/// evaluated. And a restart's undo puts the replaced registration back with its own TTL.
/// A server of its own: the tests change its memory limit.
/// </summary>
public sealed class RedisStoreFailClosedTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private readonly FakeTimeProvider _clock = StoreClock.Create();

    private DateTimeOffset Now => _clock.GetUtcNow();

    [Fact]
    public async Task VerifyAndConsume_MaxMemoryReached_RefusesAWrongGuessUnevaluatedAndCountsNothing()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);
        var registrationKey = await RegistrationKeyAsync(prefix);

        await WithTinyMaxMemoryAsync(async () =>
        {
            var act = async () => await store.VerifyAsync(key, Hash(key, "000000"), null, Now);

            (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.Message.Should().Contain("OOM");
        });

        ((string?)await redis.AdminAsync("HGET", registrationKey, "a")).Should().Be("3", "the refused guess used no attempt");
    }

    [Fact]
    public async Task VerifyAndConsume_MaxMemoryReached_RightCodeIsNotAcceptedUncounted()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);
        var registrationKey = await RegistrationKeyAsync(prefix);

        await WithTinyMaxMemoryAsync(async () =>
        {
            var act = async () => await store.VerifyAsync(key, Hash(key, "123456"), null, Now);

            await act.Should().ThrowAsync<OtpStoreUnavailableException>("a code is compared only once its attempt is counted");
        });

        ((string?)await redis.AdminAsync("HGET", registrationKey, "a")).Should().Be("3");
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Success, "the entry is intact once Redis can write again");
    }

    [Fact]
    public async Task VerifyAndConsume_MaxMemoryReachedAfterMaxAttemptsCounted_RightCodeIsNotAccepted()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);
        for (var i = 0; i < 3; i++)
        {
            (await store.VerifyAsync(key, Hash(key, $"00000{i}"), null, Now)).Status.Should().Be(StoreVerifyStatus.Invalid);
        }

        var registrationKey = await RegistrationKeyAsync(prefix);

        await WithTinyMaxMemoryAsync(async () =>
        {
            // The verify script declares writes (#!lua), so Redis refuses it whole: never a success.
            for (var i = 0; i < 5; i++)
            {
                var verify = async () => await store.VerifyAsync(key, Hash(key, "123456"), null, Now);
                await verify.Should().ThrowAsync<OtpStoreUnavailableException>("the spent attempts hold even when Redis cannot write");
            }
        });

        ((string?)await redis.AdminAsync("HGET", registrationKey, "a")).Should().Be("0");
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task PutBack_MaxMemoryReached_ThrowsAndWritesNothing()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        var registration = Create(key, Now);

        await WithTinyMaxMemoryAsync(async () =>
        {
            var act = async () => await store.PutBackAsync(registration, Now);

            await act.Should().ThrowAsync<OtpStoreUnavailableException>();
        });

        (await ScanAsync(prefix)).Should().BeEmpty();
    }

    [Fact]
    public async Task CancelSend_OfARestart_RestoresTheReplacedRegistrationWithItsOwnTtl()
    {
        var store = redis.CreateStore(out var prefix, _clock);
        var key = NewKey();
        var first = Create(key, Now, lifetime: TimeSpan.FromMinutes(30), flowId: "flow-1");
        await store.CreateOrReplaceAsync(first, Policy, Now);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var restart = Create(key, Now, code: "654321", lifetime: TimeSpan.FromMinutes(10), flowId: "flow-2");
        await store.CreateOrReplaceAsync(restart, Policy, Now);

        await store.CancelSendAsync(key, restart.CodeHash);

        var keys = await ScanAsync(prefix);
        keys.Select(k => k[(k.LastIndexOf(':') + 1)..]).Should().BeEquivalentTo(["reg", "pay", "lim"], "the kept-aside keys became the registration again");
        foreach (var name in keys.Where(k => !k.EndsWith(":lim", StringComparison.Ordinal)))
        {
            // Thirty minutes from the first start (set in real time when it was stored), not the restart's ten.
            ((long)await redis.AdminAsync("PTTL", name)).Should().BeInRange((long)TimeSpan.FromMinutes(29).TotalMilliseconds, (long)TimeSpan.FromMinutes(30).TotalMilliseconds, name);
        }

        (await store.VerifyAsync(key, restart.CodeHash, null, Now, "flow-2")).Status.Should().Be(StoreVerifyStatus.FlowMismatch, "the undone restart's flow is gone");
        var verified = await store.VerifyAsync(key, first.CodeHash, null, Now, "flow-1");
        verified.Status.Should().Be(StoreVerifyStatus.Success);
        verified.Registration.Should().BeEquivalentTo(first);
    }

    private async Task WithTinyMaxMemoryAsync(Func<Task> body)
    {
        await redis.AdminAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await redis.AdminAsync("CONFIG", "SET", "maxmemory", "1");
        try
        {
            await body();
        }
        finally
        {
            await redis.AdminAsync("CONFIG", "SET", "maxmemory", "0");
        }
    }

    private async Task<string> RegistrationKeyAsync(string prefix) =>
        (await ScanAsync(prefix)).Single(k => k.EndsWith(":reg", StringComparison.Ordinal));

    private async Task<List<string>> ScanAsync(string prefix) =>
        [.. ((StackExchange.Redis.RedisResult[])(await redis.AdminAsync("KEYS", prefix + "*"))!).Select(e => (string)e!)];
}
