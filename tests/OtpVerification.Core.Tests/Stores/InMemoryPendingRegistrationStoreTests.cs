using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification.Diagnostics;
using OtpVerification.Stores;
using OtpVerification.Testing;

namespace OtpVerification.Core.Tests.Stores;

public sealed class InMemoryPendingRegistrationStoreTests : PendingRegistrationStoreContract
{
    private static readonly byte[] Hash = new byte[32];

    protected override IPendingRegistrationStore CreateStore() => new InMemoryPendingRegistrationStore(10_000, Time);

    private DateTimeOffset Now => Time.GetUtcNow();

    [Fact]
    public async Task ConsumeOnceAsync_AfterTheMarkExpired_IsForgotten()
    {
        var key = new PendingKey(OtpPurpose.PhoneVerification, "proof:expiry");
        await Store.ConsumeOnceAsync(key, Now + TimeSpan.FromMinutes(15), Now);
        Time.Advance(TimeSpan.FromMinutes(15));

        (await Store.ConsumeOnceAsync(key, Now + TimeSpan.FromMinutes(15), Now)).Should().BeTrue("the mark lives only as long as the token it guards");
    }

    [Fact]
    public async Task ConsumeOnceAsync_LimitRecordsFull_ThrowsUnavailable()
    {
        var store = new InMemoryPendingRegistrationStore(1, 1, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        var use = async () => await store.ConsumeOnceAsync(new PendingKey(OtpPurpose.PhoneVerification, "proof:full"), Now + TimeSpan.FromMinutes(15), Now);

        await use.Should().ThrowAsync<OtpStoreUnavailableException>();
    }

    [Fact]
    public async Task CreateOrReplaceAsync_PastMaxPendingEntries_AcceptsTheNewKey()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_PastMaxPendingEntries_KeepsThePendingCountAtTheCap()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        for (var i = 0; i < 5; i++)
        {
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        }

        (store.PendingCount, store.EvictedCount).Should().Be((2, 3));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_PastMaxPendingEntries_EvictsTheRegistrationNearestItsExpiry()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        var oldest = NewKey();
        var younger = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(oldest, Hash, Now), Policy, Now);
        Time.Advance(TimeSpan.FromSeconds(1));
        await store.CreateOrReplaceAsync(NewRegistration(younger, Hash, Now), Policy, Now);
        Time.Advance(TimeSpan.FromSeconds(1));
        var newest = NewKey();

        await store.CreateOrReplaceAsync(NewRegistration(newest, Hash, Now), Policy, Now);

        var outcomes = new[]
        {
            (await store.VerifyAndConsumeAsync(oldest, Flow, [Hash], null, Now)).Status,
            (await store.VerifyAndConsumeAsync(younger, Flow, [Hash], null, Now)).Status,
            (await store.VerifyAndConsumeAsync(newest, Flow, [Hash], null, Now)).Status,
        };
        outcomes.Should().Equal(StoreVerifyStatus.NotFound, StoreVerifyStatus.Success, StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_PastMaxPendingEntries_SparesARestartedRegistrationWhoseExpiryMovedOn()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        var restarted = NewKey();
        var second = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(restarted, Hash, Now), Policy, Now);
        Time.Advance(TimeSpan.FromSeconds(1));
        await store.CreateOrReplaceAsync(NewRegistration(second, Hash, Now), Policy, Now);
        Time.Advance(Cooldown);
        await store.CreateOrReplaceAsync(NewRegistration(restarted, Hash, Now), Policy, Now);

        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        (await store.VerifyAndConsumeAsync(second, Flow, [Hash], null, Now)).Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtMaxPendingEntries_ReplacesAnExistingKeyWithoutEvicting()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        Time.Advance(Cooldown);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        (gate.Status, store.EvictedCount).Should().Be((SendGateStatus.Allowed, 0L));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtMaxPendingEntriesOfOne_NeverEvictsTheRegistrationJustStored()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now.AddMinutes(5)), Policy, Now);
        var key = NewKey();

        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        (await store.VerifyAndConsumeAsync(key, Flow, [Hash], null, Now)).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_EvictedKeyRestartedWithinTheCooldown_IsTooFrequent()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(Cooldown - TimeSpan.FromTicks(1));

        var gate = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_KeyEvictedAfterEverySend_GetsNoMoreThanMaxPerWindowSendsInTheWindow()
    {
        var store = new InMemoryPendingRegistrationStore(1, 1_000, Time);
        var key = NewKey();
        var start = Now;
        var allowed = 0;
        while (Now - start < Window)
        {
            if ((await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now)).Status == SendGateStatus.Allowed)
            {
                allowed++;
            }

            // A bot's start evicts it every time.
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
            Time.Advance(Cooldown);
        }

        allowed.Should().Be(MaxPerWindow);
    }

    [Fact]
    public async Task ResendAsync_EvictedKey_IsNotFoundAndCountsTheSlot()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(Cooldown);
        await store.ResendAsync(key, Hash, Now + CodeLifetime, MaxAttempts, Policy, Now);

        var restart = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        restart.Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task CancelSendAsync_ResendWhoseEntryWasEvictedMeanwhile_KeepsItsSendSlot()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        var resent = new byte[32];
        resent[0] = 1;
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        Time.Advance(Cooldown);
        await store.ResendAsync(key, resent, Now + CodeLifetime, MaxAttempts, Policy, Now);
        // A bot's start evicts the entry while the resend is being delivered; then the delivery fails.
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CancelSendAsync(key, resent);

        var restart = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        restart.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, Cooldown), "the undo found nothing to undo, so the resend's slot still counts");
    }

    [Fact]
    public async Task CancelSendAsync_RestartAfterASameCodeResendWasEvicted_BringsNothingBackAndTheEarlierSendsStillCount()
    {
        var store = new InMemoryPendingRegistrationStore(1, Time);
        var key = NewKey();
        var restarted = new byte[32];
        restarted[0] = 2;
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now) with { ProtectedCode = [9] }, Policy, Now);
        Time.Advance(Cooldown);
        var resend = await store.ResendAsync(key, new ResendCode { CodeHash = restarted, CodeExpiresAt = Now + CodeLifetime, MaxAttempts = MaxAttempts, ReuseWhileRemaining = TimeSpan.FromMinutes(1) }, Policy, Now);
        await store.VerifyAndConsumeAsync(key, Flow, [restarted], null, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(Cooldown);
        await store.CreateOrReplaceAsync(NewRegistration(key, restarted, Now), Policy, Now);
        // The restart's own delivery fails: nothing was guessed on it, so its slot goes back and nothing comes back in its place.
        await store.CancelSendAsync(key, restarted);

        var afterUndo = (await store.VerifyAndConsumeAsync(key, Flow, [Hash], null, Now)).Status;
        var again = (await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now)).Status;
        Time.Advance(Cooldown);
        var fourth = (await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now)).Status;

        (resend.Registration!.CodeHash.SequenceEqual(Hash), afterUndo, again, fourth).Should().Be(
            (true, StoreVerifyStatus.NotFound, SendGateStatus.Allowed, SendGateStatus.RateLimited),
            "the same-code resend kept the first code; after the eviction and the undone restart nothing of it comes back to guess at; the first send and the same-code resend still count, so one more send fills the window");
    }

    [Fact]
    public async Task CreateOrReplaceAsync_PayloadsExpiredButLimitsAlive_ReclaimsWithoutEvicting()
    {
        var store = new InMemoryPendingRegistrationStore(2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(EntryLifetime);

        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        (store.EvictedCount, store.PendingCount, store.Count).Should().Be((0L, 1, 3));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtMaxLimitRecords_RefusesANewKeyWithCapacityExceeded()
    {
        var store = new InMemoryPendingRegistrationStore(2, 2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtMaxLimitRecordsWithEvictedRegistrations_StillRefusesWhileTheirSendsCount()
    {
        var store = new InMemoryPendingRegistrationStore(1, 2, Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        Time.Advance(Window - TimeSpan.FromTicks(1));

        var gate = await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AtMaxLimitRecords_StillReplacesAnExistingKey()
    {
        var store = new InMemoryPendingRegistrationStore(1, 1, Time);
        var key = NewKey();
        await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);
        Time.Advance(Cooldown);

        var gate = await store.CreateOrReplaceAsync(NewRegistration(key, Hash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task ReserveSendAsync_AtMaxLimitRecords_IsCapacityExceeded()
    {
        var store = new InMemoryPendingRegistrationStore(1, 1, Time);
        await store.ReserveSendAsync(NewKey(), Policy, Now);

        var gate = await store.ReserveSendAsync(NewKey(), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_Evictions_AreCountedInTheMetric()
    {
        using var metrics = new OtpMetrics();
        long counted = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == OtpMetrics.MeterName && instrument.Name == "otp_verification.store.evictions")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) => Interlocked.Add(ref counted, value));
        listener.Start();
        var store = new InMemoryPendingRegistrationStore(1, 100, Time, metrics);

        for (var i = 0; i < 4; i++)
        {
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
        }

        Interlocked.Read(ref counted).Should().Be(3);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ManyEvictionsWithinAMinute_LogOneWarning()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var store = new InMemoryPendingRegistrationStore(1, 1_000, Time, logger: factory.CreateLogger<InMemoryPendingRegistrationStore>());

        for (var i = 0; i < 200; i++)
        {
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
            Time.Advance(TimeSpan.FromMilliseconds(250));
        }

        logs.Entries.Where(e => e.EventId.Name == "OtpStoreEvicted").Should().ContainSingle().Which.Level.Should().Be(LogLevel.Warning);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_EvictionsOverFiveMinutes_LogOneLineAMinute()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var store = new InMemoryPendingRegistrationStore(1, 1_000, Time, logger: factory.CreateLogger<InMemoryPendingRegistrationStore>());

        // One start a second for 5 minutes: 299 evictions, the first reported at once, the rest a minute at a time.
        for (var i = 0; i < 300; i++)
        {
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        logs.Entries.Count(e => e.EventId.Name == "OtpStoreEvicted").Should().Be(5);
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
    public void Constructor_FewerLimitRecordsThanPendingEntries_Throws()
    {
        var act = () => new InMemoryPendingRegistrationStore(10, 9, Time);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Constructor_FromOptions_UsesMaxLimitRecords()
    {
        var store = new InMemoryPendingRegistrationStore(Options.Create(new OtpVerificationOptions { MaxPendingEntries = 1, MaxLimitRecords = 1 }), Time);
        await store.ReserveSendAsync(NewKey(), Policy, Now);

        var gate = await store.ReserveSendAsync(NewKey(), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.CapacityExceeded);
    }

    [Fact]
    public async Task Constructor_FromOptions_UsesMaxPendingEntries()
    {
        var store = new InMemoryPendingRegistrationStore(Options.Create(new OtpVerificationOptions { MaxPendingEntries = 1, MaxLimitRecords = 10 }), Time);
        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, Now), Policy, Now);

        store.PendingCount.Should().Be(1);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ParallelNewKeysAtMaxLimitRecords_NeverExceedsIt()
    {
        var store = new InMemoryPendingRegistrationStore(50, 50, Time);
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => Task.Run(async () =>
            await store.CreateOrReplaceAsync(NewRegistration(NewKey(), Hash, now), Policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(50);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ParallelNewKeysPastMaxPendingEntries_AllAcceptedAndTheCapHolds()
    {
        var store = new InMemoryPendingRegistrationStore(50, 1_000, Time);
        var now = Now;
        var keys = Enumerable.Range(0, 300).Select(_ => NewKey()).ToArray();

        var results = await Task.WhenAll(keys.Select(key => Task.Run(async () =>
            await store.CreateOrReplaceAsync(NewRegistration(key, Hash, now), Policy, now))));

        var verified = 0;
        foreach (var key in keys)
        {
            if ((await store.VerifyAndConsumeAsync(key, Flow, [Hash], null, now)).Status == StoreVerifyStatus.Success)
            {
                verified++;
            }
        }

        (results.Count(r => r.Status == SendGateStatus.Allowed), verified, store.EvictedCount).Should().Be((300, 50, 250L));
    }
}
