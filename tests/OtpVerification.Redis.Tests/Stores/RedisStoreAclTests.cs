using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using StackExchange.Redis;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>
/// The ACL rights the Redis package's README names are enough, and needed: a user with nothing but
/// them (and what StackExchange.Redis sends when it connects) runs every store operation.
/// </summary>
public sealed class RedisStoreAclTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<IConnectionMultiplexer> _multiplexers = [];

    /// <summary>The commands the store's scripts call, as the README lists them.</summary>
    private static readonly string[] ScriptCommands =
        ["zrevrange", "zcount", "zrange", "zadd", "zremrangebyscore", "zpopmax", "pexpire", "hget", "hmget", "hset", "hdel", "get", "set", "del", "exists", "rename"];

    /// <summary>What StackExchange.Redis sends when it connects and while connected (handshake, heartbeat, tie-breaker).</summary>
    private static readonly string[] ConnectionRights = ["+@connection", "+info", "+config|get", "+cluster|nodes", "+subscribe", "+get"];

    [Fact]
    public async Task Store_AnAclUserWithTheDocumentedRights_RunsEveryOperation()
    {
        var clock = StoreClock.Create();
        var store = await StoreAsAsync("otp-acl", ScriptCommands, clock);
        var now = clock.GetUtcNow();
        var key = NewKey();

        (await store.CreateOrReplaceAsync(Create(key, now), Policy, now)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.ReserveSendAsync(NewKey(), Policy, now)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.ReserveSendAsync(key, Policy, now)).Status.Should().Be(SendGateStatus.TooFrequent);
        (await store.VerifyAsync(key, Hash(key, "000000"), null, now)).Status.Should().Be(StoreVerifyStatus.Invalid);
        var later = now + TimeSpan.FromMinutes(2);
        (await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(5), 5, Policy, later)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.RedirectAsync(key, Hash(key, "777777"), Hash(key, "888888"), new OtpDestination(OtpChannel.Email, key.Address))).Should().BeTrue();
        await store.CancelSendAsync(key, Hash(key, "888888"));
        (await store.VerifyAsync(key, Hash(key, "123456"), null, later)).Status.Should().Be(StoreVerifyStatus.Success);
        (await store.PutBackAsync(Create(key, later), later)).Should().BeTrue();
        (await store.DeleteAsync(key)).Should().BeTrue();
        (await store.ConsumeOnceAsync(NewKey(), later + TimeSpan.FromMinutes(5), later)).Should().BeTrue();
    }

    [Fact]
    public async Task Store_AnAclUserWithoutACommandTheScriptsCall_GetsUnavailableNotAWrongAnswer()
    {
        var store = await StoreAsAsync("otp-acl-short", ScriptCommands.Where(c => c != "zadd").ToArray(), StoreClock.Create());
        var now = StoreClock.Start;

        var create = async () => await store.CreateOrReplaceAsync(Create(NewKey(), now), Policy, now);

        await create.Should().ThrowAsync<OtpStoreUnavailableException>("a script refused by the ACL is a fault of the store (503)");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }
    }

    private async Task<IPendingRegistrationStore> StoreAsAsync(string user, string[] commands, TimeProvider clock)
    {
        const string Prefix = "acl:";
        var password = "pw-" + Guid.NewGuid().ToString("N");
        object[] rules =
        [
            user, "reset", "on", ">" + password, "~" + Prefix + "*", "~__Booksleeve_TieBreak", "resetchannels", "&*",
            "-@all", "+@scripting", .. ConnectionRights, .. commands.Select(c => "+" + c),
        ];
        await redis.AdminAsync("ACL", ["SETUSER", .. rules]);
        var configuration = ConfigurationOptions.Parse($"127.0.0.1:{redis.Server.Port},user={user},password={password},abortConnect=false");
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        _multiplexers.Add(multiplexer);
        multiplexer.IsConnected.Should().BeTrue("the user has what StackExchange.Redis needs to connect");
        return RedisTargetExtensions.CreateStore(multiplexer, Prefix + user + ":", clock);
    }
}
