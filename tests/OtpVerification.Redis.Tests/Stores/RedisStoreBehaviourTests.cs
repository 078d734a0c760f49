using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using OtpVerification.Testing;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>The Redis store against the semantics below.</summary>
public sealed class RedisStoreBehaviourTests(RedisServerFixture redis) : StoreBehaviourTests, IClassFixture<RedisServerFixture>
{
    protected override IPendingRegistrationStore CreateStore(TimeProvider clock) => redis.CreateStore(clock);
}

/// <summary>The Redis store on a local Redis Cluster (3 masters, 3 replicas) against the same semantics.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterStoreBehaviourTests(RedisClusterFixture cluster) : StoreBehaviourTests
{
    protected override IPendingRegistrationStore CreateStore(TimeProvider clock) => cluster.CreateStore(clock);
}

/// <summary>The reference store against the same semantics: proves the tests encode its behaviour.</summary>
public sealed class InMemoryStoreBehaviourTests : StoreBehaviourTests
{
    protected override IPendingRegistrationStore CreateStore(TimeProvider clock) => new InMemoryPendingRegistrationStore(1000, clock);
}

/// <summary>
/// The store's semantics, step by step, on a manual clock that is not on a millisecond boundary.
/// (The shared <c>PendingRegistrationStoreContract</c> suite will cover these too once merged.)
/// </summary>
public abstract class StoreBehaviourTests
{
    private readonly FakeTimeProvider _clock = StoreClock.Create();

    private DateTimeOffset Now => _clock.GetUtcNow();

    protected abstract IPendingRegistrationStore CreateStore(TimeProvider clock);

    [Fact]
    public async Task VerifyAndConsume_RightCode_ReturnsTheStoredRegistration()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, deviceId: "device-\u00e9-1", phone: "+14155550123", payload: [.. Enumerable.Range(0, 300).Select(i => (byte)i)]);
        (await store.CreateOrReplaceAsync(registration, Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);

        var result = await store.VerifyAsync(key, Hash(key, "123456"), "device-\u00e9-1", Now + TimeSpan.FromSeconds(5));

        result.Status.Should().Be(StoreVerifyStatus.Success);
        result.AttemptsLeft.Should().Be(4);
        result.Registration.Should().BeEquivalentTo(registration, "every field round-trips to the tick");
    }

    [Fact]
    public async Task VerifyAndConsume_Success_ConsumesTheEntry()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        await store.VerifyAsync(key, Hash(key, "123456"), null, Now);

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsume_NoEntry_NotFound()
    {
        var store = CreateStore(_clock);
        var key = NewKey();

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.NotFound));
    }

    [Fact]
    public async Task VerifyAndConsume_WrongCodes_CountDownThenMaxAttempts()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, attempts: 3), Policy, Now);

        var results = new List<StoreVerifyResult>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await store.VerifyAsync(key, Hash(key, "000000"), null, Now));
        }

        results.Select(r => (r.Status, r.AttemptsLeft)).Should().Equal(
            (StoreVerifyStatus.Invalid, 2), (StoreVerifyStatus.Invalid, 1), (StoreVerifyStatus.Invalid, 0), (StoreVerifyStatus.MaxAttempts, 0));
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.MaxAttempts, "the right code no longer helps");
    }

    [Fact]
    public async Task VerifyAndConsume_ExactlyAtCodeExpiry_Expired()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        (await store.VerifyAsync(key, registration.CodeHash, null, registration.CodeExpiresAt)).Status.Should().Be(StoreVerifyStatus.Expired);
    }

    [Fact]
    public async Task VerifyAndConsume_OneTickBeforeCodeExpiry_Succeeds()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        (await store.VerifyAsync(key, registration.CodeHash, null, registration.CodeExpiresAt.AddTicks(-1))).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsume_Expired_UsesNoAttempt()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, attempts: 2);
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), null, registration.CodeExpiresAt);

        (await store.VerifyAsync(key, Hash(key, "000000"), null, Now)).AttemptsLeft.Should().Be(1);
    }

    [Fact]
    public async Task VerifyAndConsume_NoAttemptsLeftAndExpired_MaxAttempts()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, attempts: 1);
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), null, Now);

        (await store.VerifyAsync(key, registration.CodeHash, null, registration.CodeExpiresAt)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsume_AtEntryExpiry_NotFound()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, codeLifetime: TimeSpan.FromHours(1), lifetime: TimeSpan.FromMinutes(30));
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        (await store.VerifyAsync(key, registration.CodeHash, null, registration.ExpiresAt)).Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsume_OtherOrNoDevice_DeviceMismatchWithoutUsingAnAttempt()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: "device-1", attempts: 3), Policy, Now);

        (await store.VerifyAsync(key, Hash(key, "123456"), "device-2", Now)).Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
        (await store.VerifyAsync(key, Hash(key, "000000"), "device-1", Now)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 2));
    }

    [Fact]
    public async Task VerifyAndConsume_DeviceCheckedBeforeAttempts()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: "device-1", attempts: 1), Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), "device-1", Now);

        (await store.VerifyAsync(key, Hash(key, "000000"), "device-2", Now)).Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
    }

    [Fact]
    public async Task VerifyAndConsume_EmptyDeviceIdBound_IsNotTheSameAsNone()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: string.Empty), Policy, Now);

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
        (await store.VerifyAsync(key, Hash(key, "123456"), string.Empty, Now)).Registration!.DeviceId.Should().BeEmpty();
    }

    [Fact]
    public async Task VerifyAndConsume_NoDeviceBound_AcceptsAnyDevice()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);

        (await store.VerifyAsync(key, Hash(key, "123456"), "any-device", Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplace_WithinCooldown_TooFrequentWithTickExactRetryAfter()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        var later = Now + TimeSpan.FromSeconds(20) + TimeSpan.FromTicks(3);

        var result = await store.CreateOrReplaceAsync(Create(key, later, code: "654321"), Policy, later);

        result.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(40) - TimeSpan.FromTicks(3)));
    }

    [Fact]
    public async Task CreateOrReplace_TooFrequent_KeepsTheEarlierCode()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        await store.CreateOrReplaceAsync(Create(key, Now, code: "654321"), Policy, Now);

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplace_AfterCooldown_ReplacesTheEntry()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now, deviceId: "old-device"), Policy, Now);
        var later = Now + Policy.Cooldown;

        (await store.CreateOrReplaceAsync(Create(key, later, code: "654321"), Policy, later)).Status.Should().Be(SendGateStatus.Allowed);

        (await store.VerifyAsync(key, Hash(key, "123456"), null, later)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 4));
        var success = await store.VerifyAsync(key, Hash(key, "654321"), null, later);
        success.Status.Should().Be(StoreVerifyStatus.Success);
        success.Registration!.DeviceId.Should().BeNull("the replacement carries no device");
    }

    [Fact]
    public async Task CreateOrReplace_WindowAllowanceUsed_RateLimitedUntilTheWindowEnds()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromMinutes(1), 3, TimeSpan.FromHours(1));
        var start = Now;
        for (var i = 0; i < 3; i++)
        {
            var at = start + TimeSpan.FromMinutes(i);
            (await store.CreateOrReplaceAsync(Create(key, at), policy, at)).Status.Should().Be(SendGateStatus.Allowed);
        }

        var fourth = start + TimeSpan.FromMinutes(3);
        (await store.CreateOrReplaceAsync(Create(key, fourth), policy, fourth)).Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromMinutes(57)));
        var windowEnd = start + policy.Window;
        (await store.CreateOrReplaceAsync(Create(key, windowEnd), policy, windowEnd)).Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task ReserveSend_CountsAgainstTheSameLimitsAndCreatesNothing()
    {
        var store = CreateStore(_clock);
        var key = NewKey();

        (await store.ReserveSendAsync(key, Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);

        (await store.ReserveSendAsync(key, Policy, Now + TimeSpan.FromSeconds(1))).Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(59)));
        (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent);
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task Resend_AfterCooldown_ReplacesTheCodeAndResetsAttempts()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, attempts: 3, deviceId: "device-1", phone: "+3312345678");
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), "device-1", Now);
        var later = Now + Policy.Cooldown;

        var result = await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 3, Policy, later);

        result.Status.Should().Be(SendGateStatus.Allowed);
        result.Registration.Should().BeEquivalentTo(registration with
        {
            CodeHash = Hash(key, "777777"),
            CodeExpiresAt = later + TimeSpan.FromMinutes(10),
            AttemptsLeft = 3,
        });
        (await store.VerifyAsync(key, Hash(key, "123456"), "device-1", later)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 2), "the old code stops working");
        (await store.VerifyAsync(key, Hash(key, "777777"), "device-1", later)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task Resend_CodeOutlivingTheEntry_ExtendsTheEntryAndItsNewCodeVerifiesPastTheOldExpiry()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, lifetime: TimeSpan.FromMinutes(5), codeLifetime: TimeSpan.FromMinutes(2));
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        var later = Now + Policy.Cooldown;
        var codeExpiry = later + TimeSpan.FromMinutes(10);

        var result = await store.ResendAsync(key, Hash(key, "777777"), codeExpiry, 5, Policy, later);

        result.Registration!.CodeExpiresAt.Should().Be(codeExpiry);
        result.Registration.ExpiresAt.Should().Be(codeExpiry);
        (await store.VerifyAsync(key, Hash(key, "777777"), null, registration.ExpiresAt + TimeSpan.FromMinutes(1))).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task Resend_WithinCooldown_TooFrequentAndCodeKept()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);

        (await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(10), 5, Policy, Now + TimeSpan.FromSeconds(10)))
            .Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(50)));
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task Resend_NoEntry_NotFoundButTheSlotIsCounted()
    {
        var store = CreateStore(_clock);
        var key = NewKey();

        (await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(10), 5, Policy, Now)).Should().Be(new SendGateResult(SendGateStatus.NotFound));
        (await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(10), 5, Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task Resend_EntryExpired_NotFound()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, lifetime: TimeSpan.FromMinutes(5));
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        (await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(20), 5, Policy, registration.ExpiresAt)).Status.Should().Be(SendGateStatus.NotFound);
    }

    [Fact]
    public async Task CancelSend_MatchingCode_RemovesTheEntryAndGivesTheSlotBack()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        await store.CancelSendAsync(key, registration.CodeHash);

        (await store.VerifyAsync(key, registration.CodeHash, null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound);
        (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed, "the cooldown of the undelivered send is gone");
    }

    [Fact]
    public async Task CancelSend_AfterResend_PutsBackThePreviousCodeWithItsAttemptsAndGivesTheSlotBack()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, attempts: 3);
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        await store.VerifyAsync(key, Hash(key, "000000"), null, Now);
        var later = Now + Policy.Cooldown;
        await store.ResendAsync(key, Hash(key, "777777"), later + TimeSpan.FromMinutes(10), 3, Policy, later);

        await store.CancelSendAsync(key, Hash(key, "777777"));

        (await store.ReserveSendAsync(key, Policy, later)).Status.Should().Be(SendGateStatus.Allowed, "the resend's slot was given back");
        (await store.VerifyAsync(key, Hash(key, "777777"), null, later)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 1), "the undelivered code never works and the earlier attempts stay spent");
        (await store.VerifyAsync(key, registration.CodeHash, null, later)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSend_OtherCode_ChangesNothing()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        await store.CancelSendAsync(key, Hash(key, "999999"));

        (await store.ReserveSendAsync(key, Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent);
        (await store.VerifyAsync(key, registration.CodeHash, null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSend_AfterResend_RestoresTheEarlierSendTime()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var start = Now;
        await store.CreateOrReplaceAsync(Create(key, start), Policy, start);
        var resentAt = start + TimeSpan.FromMinutes(5);
        _clock.SetUtcNow(resentAt + TimeSpan.FromSeconds(10));
        await store.ResendAsync(key, Hash(key, "777777"), resentAt + TimeSpan.FromMinutes(10), 5, Policy, resentAt);

        await store.CancelSendAsync(key, Hash(key, "777777"));

        (await store.ReserveSendAsync(key, Policy, Now)).Status.Should().Be(SendGateStatus.Allowed, "the last send is the first one again, long past its cooldown");
    }

    [Fact]
    public async Task CancelSend_OfASendWithoutCooldown_RestoresTheEarlierCooldown()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var start = Now;
        await store.CreateOrReplaceAsync(Create(key, start), Policy, start);
        var restoreAt = start + TimeSpan.FromSeconds(10);
        var restored = Create(key, restoreAt, code: "777777");
        (await store.CreateOrReplaceAsync(restored, new SendPolicy(TimeSpan.Zero, int.MaxValue, TimeSpan.FromHours(1)), restoreAt)).Status.Should().Be(SendGateStatus.Allowed);

        await store.CancelSendAsync(key, restored.CodeHash);

        (await store.ReserveSendAsync(key, Policy, start + TimeSpan.FromSeconds(20))).Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public async Task CancelSend_GivesBackOneSendOfTheWindow()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 2, TimeSpan.FromHours(1));
        await store.ReserveSendAsync(key, policy, Now);
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, policy, Now);
        (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.RateLimited);

        await store.CancelSendAsync(key, registration.CodeHash);

        (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.ReserveSendAsync(key, policy, Now)).Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task CancelSend_TwiceAfterAResendThenARestart_NeverBringsBackAnOlderCode()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 10, TimeSpan.FromHours(1));
        await store.CreateOrReplaceAsync(Create(key, Now), policy, Now);
        await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(10), 5, policy, Now);
        var restart = Create(key, Now, code: "654321", flowId: "flow-2");
        await store.CreateOrReplaceAsync(restart, policy, Now);

        await store.CancelSendAsync(key, restart.CodeHash);
        await store.CancelSendAsync(key, Hash(key, "777777"));

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound, "the restored entry had nothing more to undo");
    }

    [Fact]
    public async Task CancelSend_AfterResendOfARestart_DoesNotBringBackTheRegistrationTheRestartReplaced()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 10, TimeSpan.FromHours(1));
        await store.CreateOrReplaceAsync(Create(key, Now), policy, Now);
        var restart = Create(key, Now, code: "654321", flowId: "flow-2");
        await store.CreateOrReplaceAsync(restart, policy, Now);
        await store.ResendAsync(key, Hash(key, "777777"), Now + TimeSpan.FromMinutes(10), 5, policy, Now);

        await store.CancelSendAsync(key, Hash(key, "777777"));
        await store.CancelSendAsync(key, restart.CodeHash);

        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound, "what the restart replaced was dropped once a later send replaced the restart's code");
    }

    [Fact]
    public async Task CancelSend_EntryPastItsExpiry_GivesNoSlotBack()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, codeLifetime: TimeSpan.FromSeconds(20), lifetime: TimeSpan.FromSeconds(30));
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        _clock.SetUtcNow(registration.ExpiresAt);

        await store.CancelSendAsync(key, registration.CodeHash);

        (await store.ReserveSendAsync(key, Policy, Now)).Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Redirect_EntryPastItsExpiry_MovesNothing()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, phone: "+14155550123");
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        _clock.SetUtcNow(registration.ExpiresAt);

        (await store.RedirectAsync(key, registration.CodeHash, Hash(key, "888888"), registration.Destinations[1])).Should().BeFalse();
    }

    [Fact]
    public async Task Redirect_LiveEntry_MovesTheCodeAndRecordsTheDestination()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now, phone: "+14155550123");
        await store.CreateOrReplaceAsync(registration, Policy, Now);

        (await store.RedirectAsync(key, registration.CodeHash, Hash(key, "888888"), registration.Destinations[1])).Should().BeTrue();

        (await store.VerifyAsync(key, registration.CodeHash, null, Now)).Status.Should().Be(StoreVerifyStatus.Invalid, "the code that did not arrive stops working");
        (await store.VerifyAsync(key, Hash(key, "888888"), null, Now)).Registration!.DeliveredTo.Should().Be(registration.Destinations[1]);
    }

    [Fact]
    public async Task Delete_Entry_RemovesItOnceAndKeepsTheLimits()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);

        (await store.DeleteAsync(key)).Should().BeTrue();
        (await store.DeleteAsync(key)).Should().BeFalse();
        (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task Delete_ExpiredEntry_ReturnsFalse()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        var registration = Create(key, Now);
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        _clock.SetUtcNow(registration.ExpiresAt);

        (await store.DeleteAsync(key)).Should().BeFalse();
    }

    [Fact]
    public async Task VerifyAndConsume_Success_KeepsTheLimits()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now);
        await store.VerifyAsync(key, Hash(key, "123456"), null, Now);

        (await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now + TimeSpan.FromSeconds(1))).Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task Purposes_AreSeparateEntriesAndLimits()
    {
        var store = CreateStore(_clock);
        var signup = NewKey();
        var reset = signup with { Purpose = OtpPurpose.PasswordReset };
        await store.CreateOrReplaceAsync(Create(signup, Now), Policy, Now);

        (await store.CreateOrReplaceAsync(Create(reset, Now, code: "222222"), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.VerifyAsync(reset, Hash(signup, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Invalid);
        (await store.VerifyAsync(signup, Hash(signup, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task Stores_WithDifferentPrefixes_DoNotShareKeys()
    {
        var first = CreateStore(_clock);
        var second = CreateStore(_clock);
        var key = NewKey();
        await first.CreateOrReplaceAsync(Create(key, Now), Policy, Now);

        (await second.CreateOrReplaceAsync(Create(key, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Operations_CancelledBeforehand_ThrowWithoutRunning()
    {
        var store = CreateStore(_clock);
        var key = NewKey();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = async () => await store.CreateOrReplaceAsync(Create(key, Now), Policy, Now, cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await store.ReserveSendAsync(key, Policy, Now)).Status.Should().Be(SendGateStatus.Allowed, "nothing was written");
    }
}
