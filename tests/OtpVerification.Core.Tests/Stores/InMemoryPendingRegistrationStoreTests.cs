using Microsoft.Extensions.Options;
using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Stores;

public sealed class InMemoryPendingRegistrationStoreTests : PendingRegistrationStoreContract
{
    private static readonly byte[] Hash = new byte[32];

    protected override IPendingRegistrationStore CreateStore() => new InMemoryPendingRegistrationStore(10_000, Time);

    private DateTimeOffset Now => Time.GetUtcNow();

    [Fact]
    public async Task CreateOrReplaceAsync_AtCapacity_RefusesANewKeyWithCapacityExceeded()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtCapacity_StillReplacesAnExistingKey()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        Time.Advance(Cooldown);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task ReserveSendAsync_AtCapacity_IsCapacityExceeded()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        await store.ReserveSendAsync(NewKey(), Policy, Now);

        var gate = await store.ReserveSendAsync(NewKey(), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtCapacityWithExpiredEntries_ReclaimsTheirRoom()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(Window);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Count_AfterEntriesExpireAndAnotherOperation_GoesDown()
    {
        var store = new InMemoryPendingRegistrationStore(100, Time);
        for (var i = 0; i < 5; i++)
        {
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        }

        Time.Advance(Window);
        await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);

        store.Count.Should().Be(0);
    }

    [Fact]
    public async Task Count_BeforeTheSendWindowEnds_KeepsTheLimitRecords()
    {
        var store = new InMemoryPendingRegistrationStore(100, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        Time.Advance(Window - TimeSpan.FromTicks(1));
        await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);

        store.Count.Should().Be(1);
    }

    [Fact]
    public async Task Count_ManyExpiredEntries_AreSweptAFewPerOperation()
    {
        var store = new InMemoryPendingRegistrationStore(1_000, Time);
        for (var i = 0; i < 500; i++)
        {
            await store.ReserveSendAsync(NewKey(), Policy, Now);
        }

        Time.Advance(Window);
        await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);

        store.Count.Should().BeInRange(1, 499);
    }

    [Fact]
    public async Task Count_ManyExpiredEntries_AreAllSweptByEnoughLaterOperations()
    {
        var store = new InMemoryPendingRegistrationStore(1_000, Time);
        for (var i = 0; i < 500; i++)
        {
            await store.ReserveSendAsync(NewKey(), Policy, Now);
        }

        Time.Advance(Window);
        for (var i = 0; i < 500; i++)
        {
            await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);
        }

        store.Count.Should().Be(0);
    }

    [Fact]
    public async Task Count_KeyWhoseExpiryWasExtended_IsNotSweptAtItsFirstExpiry()
    {
        var store = new InMemoryPendingRegistrationStore(100, Time);
        var key = NewKey();
        await store.ReserveSendAsync(key, Policy, Now);
        Time.Advance(TimeSpan.FromMinutes(59));
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        Time.Advance(TimeSpan.FromMinutes(1));
        await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);

        store.Count.Should().Be(1);
    }

    [Fact]
    public async Task Count_CreateThenVerify_KeepsOnlyTheLimitRecord()
    {
        var store = new InMemoryPendingRegistrationStore(100, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        await store.VerifyAndConsumeAsync(key, Flow, [Hash], null, Now);
        Time.Advance(Window);

        await store.VerifyAndConsumeAsync(NewKey(), Flow, [Hash], null, Now);

        store.Count.Should().Be(0);
    }

    [Fact]
    public async Task DeleteAsync_UsesTheStoreClockToDropAnExpiredEntry()
    {
        var store = new InMemoryPendingRegistrationStore(100, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        Time.Advance(EntryLifetime);

        var deleted = await store.DeleteAsync(key);

        deleted.Should().BeFalse();
    }

    [Fact]
    public void Constructor_CapacityBelowOne_Throws()
    {
        var act = () => new InMemoryPendingRegistrationStore(0, Time);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Constructor_FromOptions_UsesMaxPendingEntries()
    {
        var store = new InMemoryPendingRegistrationStore(Options.Create(new OtpVerificationOptions { MaxPendingEntries = 1 }), Time);
        await store.ReserveSendAsync(NewKey(), Policy, Now);

        var gate = await store.ReserveSendAsync(NewKey(), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ParallelNewKeysAtCapacity_NeverExceedsIt()
    {
        var store = new InMemoryPendingRegistrationStore(50, Time);
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => Task.Run(async () =>
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, now), Policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(50);
    }
}
