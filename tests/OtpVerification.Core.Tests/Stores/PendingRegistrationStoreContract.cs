using System.Security.Cryptography;
using System.Text;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Core.Tests.Stores;

/// <summary>
/// The behaviour every <see cref="IPendingRegistrationStore"/> must have. A store's test class
/// inherits this suite and overrides <see cref="CreateStore"/>, nothing else:
/// <code>public sealed class MyStoreTests : PendingRegistrationStoreContract { protected override IPendingRegistrationStore CreateStore() => new MyStore(..., Time); }</code>
/// Every test uses fresh random addresses, so stores backed by a shared server need no cleanup
/// between tests. Times are passed explicitly as <c>now</c>; <see cref="Time"/> starts at the
/// current second (so absolute expiries on a server are in the future) and is the clock to hand
/// a store for the members that take no time (<see cref="IPendingRegistrationStore.CancelSendAsync"/>,
/// <see cref="IPendingRegistrationStore.DeleteAsync"/>). The suite never disposes the store.
/// </summary>
public abstract partial class PendingRegistrationStoreContract
{
    /// <summary>Wrong guesses allowed per code in this suite.</summary>
    protected const int MaxAttempts = 3;

    /// <summary>Sends allowed per window in this suite.</summary>
    protected const int MaxPerWindow = 3;

    /// <summary>The minimum time between two sends in this suite.</summary>
    protected static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);

    /// <summary>The send window in this suite.</summary>
    protected static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>How long a code lives in this suite.</summary>
    protected static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long an entry lives in this suite.</summary>
    protected static readonly TimeSpan EntryLifetime = TimeSpan.FromMinutes(30);

    /// <summary>The flow id registrations of this suite belong to unless a test gives another.</summary>
    protected const string Flow = "flow-a";

    /// <summary>The id of a flow that restarted an entry.</summary>
    protected const string OtherFlow = "flow-b";

    /// <summary>The fallback destination of every registration in this suite.</summary>
    protected static readonly OtpDestination SmsDestination = new(OtpChannel.Sms, "+14155550123");

    /// <summary>The send limits used by this suite.</summary>
    protected static readonly SendPolicy Policy = new(Cooldown, MaxPerWindow, Window);

    private static readonly byte[] RightHash = HashOf("right");
    private static readonly byte[] WrongHash = HashOf("wrong");
    private static readonly byte[] NewHash = HashOf("new");

    private readonly Lazy<IPendingRegistrationStore> _store;

    /// <summary>Creates the suite with <see cref="Time"/> at the current whole second.</summary>
    protected PendingRegistrationStoreContract()
    {
        Time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        _store = new Lazy<IPendingRegistrationStore>(() => CreateStore(), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The test's clock. Tests read <c>now</c> from it and advance it; pass it to the store under test.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>The store under test, created on first use by <see cref="CreateStore"/>.</summary>
    protected IPendingRegistrationStore Store => _store.Value;

    private DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Creates an empty store (or one holding nothing under the random keys this suite uses).</summary>
    /// <returns>The store under test.</returns>
    protected abstract IPendingRegistrationStore CreateStore();

    /// <summary>A fresh key no other test uses.</summary>
    /// <param name="purpose">The purpose.</param>
    /// <returns>The key.</returns>
    protected static PendingKey NewKey(OtpPurpose purpose = OtpPurpose.Signup) => new(purpose, $"{Guid.NewGuid():N}@example.com");

    /// <summary>A registration for <paramref name="key"/> issued at <paramref name="now"/> with this suite's lifetimes.</summary>
    /// <param name="key">The key.</param>
    /// <param name="codeHash">The code hash.</param>
    /// <param name="now">The issue time.</param>
    /// <param name="deviceId">The bound device, if any.</param>
    /// <returns>The registration.</returns>
    /// <param name="flowId">The flow it belongs to (<see cref="Flow"/> unless given).</param>
    /// <param name="decoy">Whether it is a decoy.</param>
    /// <returns>The registration.</returns>
    protected static PendingRegistration NewRegistration(PendingKey key, byte[] codeHash, DateTimeOffset now, string? deviceId = null, string flowId = Flow, bool decoy = false) => new()
    {
        Key = key,
        FlowId = flowId,
        CodeHash = codeHash,
        CodeExpiresAt = now + CodeLifetime,
        ExpiresAt = now + EntryLifetime,
        AttemptsLeft = MaxAttempts,
        Destinations = [new OtpDestination(OtpChannel.Email, key.Address), SmsDestination],
        DeliveredTo = new OtpDestination(OtpChannel.Email, key.Address),
        DeviceId = deviceId,
        Decoy = decoy,
        Payload = decoy ? [] : [1, 2, 3, 0, 255],
    };

    private static byte[] HashOf(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    private async Task<PendingKey> CreateAsync(byte[]? hash = null, string? deviceId = null, OtpPurpose purpose = OtpPurpose.Signup)
    {
        var key = NewKey(purpose);
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, hash ?? RightHash, Now, deviceId), Policy, Now);
        gate.Status.Should().Be(SendGateStatus.Allowed, "the arrangement needs a stored registration");
        return key;
    }

    private ValueTask<StoreVerifyResult> VerifyAsync(PendingKey key, byte[] hash, string? deviceId = null, string flowId = Flow)
        => Store.VerifyAndConsumeAsync(key, flowId, [hash], deviceId, Now);

    private ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] hash)
        => Store.ResendAsync(key, hash, Now + CodeLifetime, MaxAttempts, Policy, Now);

    // ----- CreateOrReplaceAsync: send gate -----

    [Fact]
    public async Task CreateOrReplaceAsync_NewKey_IsAllowed()
    {
        var key = NewKey();

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_WithinCooldown_IsTooFrequentWithExactRetryAfter()
    {
        var key = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(20));

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_WithinCooldown_KeepsTheEarlierCode()
    {
        var key = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(20));
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ExactlyAtCooldownEnd_IsAllowed()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AfterCooldown_OldCodeStopsWorking()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AfterCooldown_NewCodeWorks()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_Replacing_RestoresFullAttempts()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        await VerifyAsync(key, WrongHash);
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_WindowAllowanceUsed_IsRateLimitedWithExactRetryAfter()
    {
        var key = NewKey();
        var start = Now;
        for (var i = 0; i < MaxPerWindow; i++)
        {
            (await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
            Time.Advance(Cooldown);
        }

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.RateLimited, start + Window - Now));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_OneSecondBeforeWindowEnds_IsRateLimitedForOneSecond()
    {
        var key = NewKey();
        var start = Now;
        for (var i = 0; i < MaxPerWindow; i++)
        {
            await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);
            Time.Advance(Cooldown);
        }

        Time.SetUtcNow(start + Window - TimeSpan.FromSeconds(1));
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ExactlyAtWindowEnd_IsAllowed()
    {
        var key = NewKey();
        var start = Now;
        for (var i = 0; i < MaxPerWindow; i++)
        {
            await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);
            Time.Advance(Cooldown);
        }

        Time.SetUtcNow(start + Window);
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_OtherAddress_IsNotLimited()
    {
        await CreateAsync();
        var other = NewKey();

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(other, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_SameAddressOtherPurpose_IsNotLimited()
    {
        var signup = await CreateAsync();
        var reset = signup with { Purpose = OtpPurpose.PasswordReset };

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(reset, NewHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_CancelledToken_Throws()
    {
        var key = NewKey();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var act = async () => await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    // ----- Rolling window -----

    [Fact]
    public async Task CreateOrReplaceAsync_SendsEveryMinuteAcrossTheHour_NoSixtyMinutesHoldMoreThanMaxPerWindow()
    {
        var key = NewKey();
        var start = Now;
        var allowed = new List<DateTimeOffset>();
        foreach (var minute in new[] { 0 }.Concat(Enumerable.Range(56, 9)).Concat(Enumerable.Range(110, 15)))
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            if ((await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now)).Status == SendGateStatus.Allowed)
            {
                allowed.Add(Now);
            }
        }

        allowed.Should().OnlyContain(t => allowed.Count(o => o >= t && o < t + Window) <= MaxPerWindow);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_SendsAtMinute0And56To64_AllowsOnlyThoseTheRollingHourHasRoomFor()
    {
        var key = NewKey();
        var start = Now;
        var allowed = new List<int>();
        foreach (var minute in new[] { 0 }.Concat(Enumerable.Range(56, 9)))
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            if ((await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now)).Status == SendGateStatus.Allowed)
            {
                allowed.Add(minute);
            }
        }

        allowed.Should().Equal(0, 56, 57, 60);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_RollingWindowFull_RetryAfterIsWhenTheOldestSendInTheWindowLeavesIt()
    {
        var key = NewKey();
        var start = Now;
        foreach (var minute in new[] { 0, 56, 57, 60 })
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);
        }

        Time.SetUtcNow(start + TimeSpan.FromMinutes(64));
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromMinutes(56 + 60 - 64)));
    }

    [Fact]
    public async Task CreateOrReplaceAsync_RollingWindowFull_AllowedExactlyWhenTheOldestSendLeaves()
    {
        var key = NewKey();
        var start = Now;
        foreach (var minute in new[] { 0, 30, 59 })
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);
        }

        Time.SetUtcNow(start + TimeSpan.FromMinutes(60));
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_AfterTheFirstHourEnds_WindowDoesNotStartAfresh()
    {
        var key = NewKey();
        var start = Now;
        foreach (var minute in new[] { 0, 30, 59, 60 })
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);
        }

        Time.SetUtcNow(start + TimeSpan.FromMinutes(61));
        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromMinutes(30 + 60 - 61)));
    }

    [Fact]
    public async Task ReserveSendAsync_RollingWindowFull_IsRateLimitedUntilTheOldestSendLeaves()
    {
        var key = NewKey();
        var start = Now;
        foreach (var minute in new[] { 0, 50, 59, 60 })
        {
            Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await Store.ReserveSendAsync(key, Policy, Now);
        }

        Time.SetUtcNow(start + TimeSpan.FromMinutes(62));
        var gate = await Store.ReserveSendAsync(key, Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromMinutes(50 + 60 - 62)));
    }

    // ----- ReserveSendAsync -----

    [Fact]
    public async Task ReserveSendAsync_NewKey_IsAllowed()
    {
        var gate = await Store.ReserveSendAsync(NewKey(), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task ReserveSendAsync_NewKey_CreatesNoRegistration()
    {
        var key = NewKey();
        await Store.ReserveSendAsync(key, Policy, Now);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task ReserveSendAsync_WithinCooldown_IsTooFrequentWithExactRetryAfter()
    {
        var key = NewKey();
        await Store.ReserveSendAsync(key, Policy, Now);
        Time.Advance(TimeSpan.FromSeconds(10));

        var gate = await Store.ReserveSendAsync(key, Policy, Now);

        gate.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(50)));
    }

    [Fact]
    public async Task ReserveSendAsync_AfterCreate_SharesItsCooldown()
    {
        var key = await CreateAsync();

        var gate = await Store.ReserveSendAsync(key, Policy, Now);

        gate.Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task ReserveSendAsync_ExistingRegistration_IsLeftAlone()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.ReserveSendAsync(key, Policy, Now);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ReserveSendAsync_WindowAllowanceUsed_IsRateLimited()
    {
        var key = NewKey();
        for (var i = 0; i < MaxPerWindow; i++)
        {
            await Store.ReserveSendAsync(key, Policy, Now);
            Time.Advance(Cooldown);
        }

        var gate = await Store.ReserveSendAsync(key, Policy, Now);

        gate.Status.Should().Be(SendGateStatus.RateLimited);
    }

    [Fact]
    public async Task ReserveSendAsync_NoCooldown_AllowsASendStampedBeforeTheLastOne()
    {
        // The per-client limit has no cooldown, and concurrent requests reach the store out of their time order.
        var key = NewKey();
        var noCooldown = new SendPolicy(TimeSpan.Zero, MaxPerWindow, Window);
        var earlier = Now;
        Time.Advance(TimeSpan.FromMilliseconds(5));
        (await Store.ReserveSendAsync(key, noCooldown, Now)).Status.Should().Be(SendGateStatus.Allowed);

        var gate = await Store.ReserveSendAsync(key, noCooldown, earlier);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task ReserveSendAsync_NoCooldown_StillCountsTheWindow()
    {
        var key = NewKey();
        var noCooldown = new SendPolicy(TimeSpan.Zero, MaxPerWindow, Window);
        for (var i = 0; i < MaxPerWindow; i++)
        {
            (await Store.ReserveSendAsync(key, noCooldown, Now)).Status.Should().Be(SendGateStatus.Allowed);
        }

        var gate = await Store.ReserveSendAsync(key, noCooldown, Now);

        gate.Status.Should().Be(SendGateStatus.RateLimited);
    }

    // ----- ResendAsync -----

    [Fact]
    public async Task ResendAsync_NoRegistration_IsNotFound()
    {
        var gate = await ResendAsync(NewKey(), NewHash);

        gate.Status.Should().Be(SendGateStatus.NotFound);
    }

    [Fact]
    public async Task ResendAsync_NoRegistration_CountsTheSendSlot()
    {
        var key = NewKey();
        await ResendAsync(key, NewHash);
        Time.Advance(TimeSpan.FromSeconds(10));

        var gate = await ResendAsync(key, NewHash);

        gate.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(50)));
    }

    [Fact]
    public async Task ResendAsync_NoRegistration_CreatesNoRegistration()
    {
        var key = NewKey();
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task ResendAsync_WithinCooldown_IsTooFrequentWithExactRetryAfter()
    {
        var key = await CreateAsync();
        Time.Advance(TimeSpan.FromSeconds(45));

        var gate = await ResendAsync(key, NewHash);

        gate.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task ResendAsync_Refused_KeepsTheCurrentCode()
    {
        var key = await CreateAsync();
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_AfterCooldown_ReturnsTheUpdatedRegistration()
    {
        var key = await CreateAsync(deviceId: "device-1");
        Time.Advance(Cooldown);
        var expected = NewRegistration(key, NewHash, Now, "device-1") with { ExpiresAt = Now - Cooldown + EntryLifetime };

        var gate = await ResendAsync(key, NewHash);

        gate.Status.Should().Be(SendGateStatus.Allowed);
        gate.Registration.Should().BeEquivalentTo(expected);
    }

    [Fact]
    public async Task ResendAsync_AfterCooldown_OldCodeStopsWorking()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task ResendAsync_AfterCooldown_NewCodeWorks()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_AfterWrongGuesses_ResetsAttempts()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        await VerifyAsync(key, WrongHash);
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    [Fact]
    public async Task ResendAsync_AfterMaxAttempts_UnlocksTheNewCode()
    {
        var key = await CreateAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_CodeOutlivingTheEntry_ExtendsTheEntryToTheCodesExpiry()
    {
        var key = await CreateAsync();
        Time.Advance(EntryLifetime - TimeSpan.FromMinutes(2));
        var codeExpiry = Now + CodeLifetime;

        var gate = await Store.ResendAsync(key, NewHash, codeExpiry, MaxAttempts, Policy, Now);

        gate.Registration!.CodeExpiresAt.Should().Be(codeExpiry);
        gate.Registration.ExpiresAt.Should().Be(codeExpiry);
    }

    [Fact]
    public async Task ResendAsync_CodeOutlivingTheEntry_NewCodeWorksAfterTheOldEntryExpiry()
    {
        var key = await CreateAsync();
        var entryExpiry = Now + EntryLifetime;
        Time.Advance(EntryLifetime - TimeSpan.FromMinutes(2));
        await Store.ResendAsync(key, NewHash, Now + CodeLifetime, MaxAttempts, Policy, Now);
        Time.SetUtcNow(entryExpiry + TimeSpan.FromSeconds(1));

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_CodeWithinTheEntry_KeepsTheEntryExpiry()
    {
        var key = await CreateAsync();
        var entryExpiry = Now + EntryLifetime;
        Time.Advance(Cooldown);

        var gate = await Store.ResendAsync(key, NewHash, Now + CodeLifetime, MaxAttempts, Policy, Now);

        gate.Registration!.ExpiresAt.Should().Be(entryExpiry);
    }

    [Fact]
    public async Task ResendAsync_WindowAllowanceUsed_IsRateLimited()
    {
        var key = await CreateAsync();
        for (var i = 1; i < MaxPerWindow; i++)
        {
            Time.Advance(Cooldown);
            (await ResendAsync(key, NewHash)).Status.Should().Be(SendGateStatus.Allowed);
        }

        Time.Advance(Cooldown);
        var gate = await ResendAsync(key, NewHash);

        gate.Status.Should().Be(SendGateStatus.RateLimited);
    }

    // ----- VerifyAndConsumeAsync -----

    [Fact]
    public async Task VerifyAndConsumeAsync_NoRegistration_IsNotFound()
    {
        var result = await VerifyAsync(NewKey(), RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_RightCode_ReturnsTheStoredRegistration()
    {
        var key = NewKey();
        var registration = NewRegistration(key, RightHash, Now, "device-1");
        await Store.CreateOrReplaceAsync(registration, Policy, Now);

        var result = await VerifyAsync(key, RightHash, "device-1");

        result.Status.Should().Be(StoreVerifyStatus.Success);
        result.Registration.Should().BeEquivalentTo(registration, o => o.Excluding(r => r.AttemptsLeft));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_RightCodeTwice_SecondIsNotFound()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, RightHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongCode_IsInvalidWithOneAttemptUsed()
    {
        var key = await CreateAsync();

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_LastWrongGuess_ReportsNoAttemptsLeft()
    {
        var key = await CreateAsync();
        for (var i = 1; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 0));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_RightCodeOnLastAttempt_Succeeds()
    {
        var key = await CreateAsync();
        for (var i = 1; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_AfterMaxWrongGuesses_IsMaxAttemptsEvenForTheRightCode()
    {
        var key = await CreateAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_OtherDevice_IsDeviceMismatch()
    {
        var key = await CreateAsync(deviceId: "device-1");

        var result = await VerifyAsync(key, RightHash, "device-2");

        result.Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_NoDeviceWhenBound_IsDeviceMismatch()
    {
        var key = await CreateAsync(deviceId: "device-1");

        var result = await VerifyAsync(key, RightHash, deviceId: null);

        result.Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_DeviceComparison_IsCaseSensitive()
    {
        var key = await CreateAsync(deviceId: "device-a");

        var result = await VerifyAsync(key, RightHash, "DEVICE-A");

        result.Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_AfterDeviceMismatch_RightDeviceStillSucceeds()
    {
        var key = await CreateAsync(deviceId: "device-1");
        await VerifyAsync(key, RightHash, "device-2");

        var result = await VerifyAsync(key, RightHash, "device-1");

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_UnboundRegistration_AcceptsAnyDevice()
    {
        var key = await CreateAsync(deviceId: null);

        var result = await VerifyAsync(key, RightHash, "device-2");

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_ExactlyAtCodeExpiry_IsExpired()
    {
        var key = await CreateAsync();
        Time.Advance(CodeLifetime);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Expired);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_OneTickBeforeCodeExpiry_Succeeds()
    {
        var key = await CreateAsync();
        Time.Advance(CodeLifetime - TimeSpan.FromTicks(1));

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_ExactlyAtEntryExpiry_IsNotFound()
    {
        var key = NewKey();
        var registration = NewRegistration(key, RightHash, Now) with { CodeExpiresAt = Now + EntryLifetime };
        await Store.CreateOrReplaceAsync(registration, Policy, Now);
        Time.Advance(EntryLifetime);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_OtherPurpose_IsNotFound()
    {
        var signup = await CreateAsync(purpose: OtpPurpose.Signup);

        var result = await VerifyAsync(signup with { Purpose = OtpPurpose.PasswordReset }, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_TwoPurposesOnOneAddress_EachKeepsItsOwnCode()
    {
        var signup = await CreateAsync(RightHash, purpose: OtpPurpose.Signup);
        var reset = signup with { Purpose = OtpPurpose.PasswordReset };
        await Store.CreateOrReplaceAsync(NewRegistration(reset, NewHash, Now), Policy, Now);

        var results = new[] { await VerifyAsync(signup, RightHash), await VerifyAsync(reset, NewHash) };

        results.Select(r => r.Status).Should().Equal(StoreVerifyStatus.Success, StoreVerifyStatus.Success);
    }

    // ----- VerifyAndConsumeAsync: flow binding -----

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlow_IsFlowMismatch()
    {
        var key = await CreateAsync();

        var result = await VerifyAsync(key, RightHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlowWithTheRightCode_ConsumesNothing()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, RightHash, flowId: OtherFlow);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlowGuesses_CountNoAttempts()
    {
        var key = await CreateAsync();
        for (var i = 0; i < MaxAttempts + 2; i++)
        {
            await VerifyAsync(key, WrongHash, flowId: OtherFlow);
        }

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlowOnALockedCode_IsFlowMismatch()
    {
        var key = await CreateAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        var result = await VerifyAsync(key, RightHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlowOnAnExpiredCode_IsFlowMismatch()
    {
        var key = await CreateAsync();
        Time.Advance(CodeLifetime);

        var result = await VerifyAsync(key, RightHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_WrongFlowFromAnotherDevice_IsFlowMismatch()
    {
        var key = await CreateAsync(deviceId: "device-1");

        var result = await VerifyAsync(key, RightHash, "device-2", OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_FlowComparison_IsCaseSensitive()
    {
        var key = await CreateAsync();

        var result = await VerifyAsync(key, RightHash, flowId: Flow.ToUpperInvariant());

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_FlowThatIsAPrefixOfTheRightOne_IsFlowMismatch()
    {
        var key = await CreateAsync();

        var result = await VerifyAsync(key, RightHash, flowId: Flow[..^1]);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_Restart_OldFlowIsFlowMismatch()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);

        var result = await VerifyAsync(key, NewHash, flowId: Flow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_Restart_NewFlowWorks()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);

        var result = await VerifyAsync(key, NewHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_KeepsTheFlow()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash, flowId: Flow);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    // ----- VerifyAndConsumeAsync: several hashes (hash key rotation) -----

    [Fact]
    public async Task VerifyAndConsumeAsync_RightHashSecond_Succeeds()
    {
        var key = await CreateAsync();

        var result = await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash, RightHash], null, Now);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_RightHashSecond_CountsOneAttempt()
    {
        var key = await CreateAsync();

        var result = await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash, RightHash], null, Now);

        result.AttemptsLeft.Should().Be(MaxAttempts - 1);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_TwoWrongHashes_CountOneAttempt()
    {
        var key = await CreateAsync();

        var result = await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash, NewHash], null, Now);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    // ----- Decoys -----

    [Fact]
    public async Task VerifyAndConsumeAsync_DecoyWithItsOwnHash_IsInvalid()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, decoy: true), Policy, Now);

        var result = await VerifyAsync(key, RightHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_DecoyGuessedMaxAttemptsTimes_IsMaxAttempts()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, decoy: true), Policy, Now);
        for (var i = 0; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, RightHash);
        }

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_DecoyWrongFlow_IsFlowMismatch()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, decoy: true), Policy, Now);

        var result = await VerifyAsync(key, RightHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_DecoyOtherDevice_IsDeviceMismatch()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, "device-1", decoy: true), Policy, Now);

        var result = await VerifyAsync(key, RightHash, "device-2");

        result.Status.Should().Be(StoreVerifyStatus.DeviceMismatch);
    }

    [Fact]
    public async Task ResendAsync_Decoy_ReturnsADecoy()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, decoy: true), Policy, Now);
        Time.Advance(Cooldown);

        var gate = await ResendAsync(key, NewHash);

        gate.Registration!.Decoy.Should().BeTrue();
    }

    [Fact]
    public async Task ResendAsync_Decoy_NewHashNeverVerifies()
    {
        var key = NewKey(OtpPurpose.PasswordReset);
        await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now, decoy: true), Policy, Now);
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    // ----- CancelSendAsync -----

    [Fact]
    public async Task CancelSendAsync_AfterAFirstStart_ReleasesTheSendSlot()
    {
        var key = await CreateAsync();
        await Store.CancelSendAsync(key, RightHash);
        Time.Advance(TimeSpan.FromSeconds(1));

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAFirstStart_LeavesNoRegistration()
    {
        var key = await CreateAsync();
        await Store.CancelSendAsync(key, RightHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResend_PreviousCodeWorksAgain()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResend_UndeliveredCodeStopsWorking()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResend_RestoresTheAttemptsLeftNotAFullSet()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        await VerifyAsync(key, WrongHash);
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 3));
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResendOnALockedCode_KeepsItLocked()
    {
        var key = await CreateAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            await VerifyAsync(key, WrongHash);
        }

        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResend_RestoresThePreviousCodeExpiry()
    {
        var key = await CreateAsync();
        var codeExpiry = Now + CodeLifetime;
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);
        Time.SetUtcNow(codeExpiry);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Expired);
    }

    [Fact]
    public async Task CancelSendAsync_AfterAResend_RestoresThePreviousDestination()
    {
        var key = await CreateAsync();
        await Store.RedirectAsync(key, RightHash, HashOf("fallback"), SmsDestination);
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, HashOf("fallback"));

        result.Registration!.DeliveredTo.Should().Be(SmsDestination);
    }

    [Fact]
    public async Task CancelSendAsync_AfterARestart_OldFlowWorksAgain()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash, flowId: Flow);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSendAsync_AfterARestart_RestoresTheReplacedRegistration()
    {
        var key = NewKey();
        var original = NewRegistration(key, RightHash, Now, "device-1");
        await Store.CreateOrReplaceAsync(original, Policy, Now);
        await VerifyAsync(key, WrongHash, "device-1");
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash, "device-1");

        result.Registration.Should().BeEquivalentTo(original, o => o.Excluding(r => r.AttemptsLeft));
    }

    [Fact]
    public async Task CancelSendAsync_AfterARestart_RestoresTheReplacedAttemptsLeft()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 2));
    }

    [Fact]
    public async Task CancelSendAsync_AfterARestart_NewFlowIsFlowMismatch()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, NewHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.FlowMismatch);
    }

    [Fact]
    public async Task CancelSendAsync_StaleHash_KeepsTheNewerRegistration()
    {
        var key = await CreateAsync(NewHash);
        await Store.CancelSendAsync(key, RightHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSendAsync_StaleHashAfterAResend_KeepsTheResentCode()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, RightHash);

        var result = await VerifyAsync(key, NewHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSendAsync_StaleHash_KeepsTheSendSlot()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, RightHash);
        Time.Advance(TimeSpan.FromSeconds(1));

        var gate = await ResendAsync(key, HashOf("third"));

        gate.Should().Be(new SendGateResult(SendGateStatus.TooFrequent, Cooldown - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task CancelSendAsync_Twice_UndoesOnlyOneSend()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task CancelSendAsync_AfterFailedResend_CooldownCountsFromThePreviousSend()
    {
        var key = await CreateAsync();
        Time.Advance(TimeSpan.FromMinutes(2));
        await ResendAsync(key, NewHash);
        await Store.CancelSendAsync(key, NewHash);
        Time.Advance(TimeSpan.FromSeconds(1));

        var gate = await ResendAsync(key, HashOf("third"));

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CancelSendAsync_ReleasedSlot_DoesNotCountTowardsTheWindow()
    {
        var key = await CreateAsync();
        await Store.CancelSendAsync(key, RightHash);
        for (var i = 0; i < MaxPerWindow - 1; i++)
        {
            (await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
            Time.Advance(Cooldown);
        }

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task CancelSendAsync_UnknownKey_DoesNotThrow()
    {
        var act = async () => await Store.CancelSendAsync(NewKey(), RightHash);

        await act.Should().NotThrowAsync();
    }

    // ----- RedirectAsync -----

    [Fact]
    public async Task RedirectAsync_ExpectedHash_ReturnsTrue()
    {
        var key = await CreateAsync();

        var moved = await Store.RedirectAsync(key, RightHash, NewHash, SmsDestination);

        moved.Should().BeTrue();
    }

    [Fact]
    public async Task RedirectAsync_ExpectedHash_NewCodeProvesTheFallbackDestination()
    {
        var key = await CreateAsync();
        await Store.RedirectAsync(key, RightHash, NewHash, SmsDestination);

        var result = await VerifyAsync(key, NewHash);

        result.Registration!.DeliveredTo.Should().Be(SmsDestination);
    }

    [Fact]
    public async Task RedirectAsync_ExpectedHash_UndeliveredCodeStopsWorking()
    {
        var key = await CreateAsync();
        await Store.RedirectAsync(key, RightHash, NewHash, SmsDestination);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task RedirectAsync_ExpectedHash_KeepsTheAttemptsLeft()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        await Store.RedirectAsync(key, RightHash, NewHash, SmsDestination);

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 2));
    }

    [Fact]
    public async Task RedirectAsync_ExpectedHash_TakesNoSendSlot()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        await Store.RedirectAsync(key, RightHash, NewHash, SmsDestination);

        var gate = await ResendAsync(key, HashOf("third"));

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task RedirectAsync_OtherHash_ReturnsFalse()
    {
        var key = await CreateAsync();

        var moved = await Store.RedirectAsync(key, WrongHash, NewHash, SmsDestination);

        moved.Should().BeFalse();
    }

    [Fact]
    public async Task RedirectAsync_OtherHash_LeavesTheCodeAndDestination()
    {
        var key = await CreateAsync();
        await Store.RedirectAsync(key, WrongHash, NewHash, SmsDestination);

        var result = await VerifyAsync(key, RightHash);

        result.Registration!.DeliveredTo.Should().Be(new OtpDestination(OtpChannel.Email, key.Address));
    }

    [Fact]
    public async Task RedirectAsync_NoRegistration_ReturnsFalse()
    {
        var moved = await Store.RedirectAsync(NewKey(), RightHash, NewHash, SmsDestination);

        moved.Should().BeFalse();
    }

    // ----- PutBackAsync -----

    [Fact]
    public async Task PutBackAsync_AfterVerify_SameCodeAndFlowVerifyAgain()
    {
        var key = await CreateAsync();
        var consumed = (await VerifyAsync(key, RightHash)).Registration!;
        (await Store.PutBackAsync(consumed, Now)).Should().BeTrue();

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task PutBackAsync_AnotherRegistrationMeanwhile_ReturnsFalse()
    {
        var key = await CreateAsync();
        var consumed = (await VerifyAsync(key, RightHash)).Registration!;
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);

        var restored = await Store.PutBackAsync(consumed, Now);

        restored.Should().BeFalse();
    }

    [Fact]
    public async Task PutBackAsync_AnotherRegistrationMeanwhile_KeepsTheOther()
    {
        var key = await CreateAsync();
        var consumed = (await VerifyAsync(key, RightHash)).Registration!;
        Time.Advance(Cooldown);
        await Store.CreateOrReplaceAsync(NewRegistration(key, NewHash, Now, flowId: OtherFlow), Policy, Now);
        await Store.PutBackAsync(consumed, Now);

        var result = await VerifyAsync(key, NewHash, flowId: OtherFlow);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task PutBackAsync_AfterVerify_TakesNoSendSlot()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        var consumed = (await VerifyAsync(key, RightHash)).Registration!;
        await Store.PutBackAsync(consumed, Now);

        var gate = await ResendAsync(key, NewHash);

        gate.Status.Should().Be(SendGateStatus.Allowed);
    }

    // ----- DeleteAsync -----

    [Fact]
    public async Task DeleteAsync_ExistingRegistration_ReturnsTrue()
    {
        var key = await CreateAsync();

        var deleted = await Store.DeleteAsync(key);

        deleted.Should().BeTrue();
    }

    [Fact]
    public async Task DeleteAsync_ExistingRegistration_RemovesIt()
    {
        var key = await CreateAsync();
        await Store.DeleteAsync(key);

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task DeleteAsync_NoRegistration_ReturnsFalse()
    {
        var deleted = await Store.DeleteAsync(NewKey());

        deleted.Should().BeFalse();
    }

    [Fact]
    public async Task DeleteAsync_OnlySendLimits_ReturnsFalse()
    {
        var key = NewKey();
        await Store.ReserveSendAsync(key, Policy, Now);

        var deleted = await Store.DeleteAsync(key);

        deleted.Should().BeFalse();
    }

    [Fact]
    public async Task DeleteAsync_ExistingRegistration_KeepsTheSendLimits()
    {
        var key = await CreateAsync();
        await Store.DeleteAsync(key);

        var gate = await Store.CreateOrReplaceAsync(NewRegistration(key, RightHash, Now), Policy, Now);

        gate.Status.Should().Be(SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task DeleteAsync_OtherPurpose_LeavesTheRegistration()
    {
        var key = await CreateAsync();
        await Store.DeleteAsync(key with { Purpose = OtpPurpose.PasswordReset });

        var result = await VerifyAsync(key, RightHash);

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    // ----- Concurrency -----

    [Fact]
    public async Task VerifyAndConsumeAsync_500ParallelWrongGuesses_EvaluatesExactlyMaxAttempts()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash], null, now))));

        results.Count(r => r.Status == StoreVerifyStatus.Invalid).Should().Be(MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_500ParallelWrongGuesses_RestAreMaxAttempts()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash], null, now))));

        results.Count(r => r.Status == StoreVerifyStatus.MaxAttempts).Should().Be(500 - MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_500ParallelWrongGuesses_EachAttemptsLeftValueSeenOnce()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash], null, now))));

        results.Where(r => r.Status == StoreVerifyStatus.Invalid).Select(r => r.AttemptsLeft).Should().BeEquivalentTo(Enumerable.Range(0, MaxAttempts));
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_200ParallelRightGuesses_SucceedsExactlyOnce()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, Flow, [RightHash], null, now))));

        results.Count(r => r.Status == StoreVerifyStatus.Success).Should().Be(1);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ParallelStartsOnOneAddress_AllowsExactlyOne()
    {
        var key = NewKey();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await Store.CreateOrReplaceAsync(NewRegistration(key, HashOf($"code-{i}"), now), Policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(1);
    }

    [Fact]
    public async Task CreateOrReplaceAsync_ParallelStartsOnOneAddress_StoresTheAllowedOne()
    {
        var key = NewKey();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            (i, await Store.CreateOrReplaceAsync(NewRegistration(key, HashOf($"code-{i}"), now), Policy, now)))));
        var winner = results.Single(r => r.Item2.Status == SendGateStatus.Allowed).i;

        var result = await VerifyAsync(key, HashOf($"code-{winner}"));

        result.Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task ResendAsync_ParallelResends_AllowsExactlyOne()
    {
        var key = await CreateAsync();
        Time.Advance(Cooldown);
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await Store.ResendAsync(key, HashOf($"code-{i}"), now + CodeLifetime, MaxAttempts, Policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(1);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_200ParallelRightCodesHalfWithAStaleFlow_SucceedsExactlyOnceForTheRightFlow()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            (Flow: i % 2 == 0 ? Flow : OtherFlow, Result: await Store.VerifyAndConsumeAsync(key, i % 2 == 0 ? Flow : OtherFlow, [RightHash], null, now)))));

        results.Where(r => r.Result.Status == StoreVerifyStatus.Success).Should().ContainSingle().Which.Flow.Should().Be(Flow);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_200ParallelWrongGuesses_EvaluateAtMostMaxAttempts()
    {
        var key = await CreateAsync();
        var now = Now;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, Flow, [WrongHash], null, now))));

        results.Count(r => r.Status is StoreVerifyStatus.Invalid or StoreVerifyStatus.Success).Should().BeLessThanOrEqualTo(MaxAttempts);
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_200ParallelGuessesWithAStaleFlow_LeaveEveryAttempt()
    {
        var key = await CreateAsync();
        var now = Now;
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await Store.VerifyAndConsumeAsync(key, OtherFlow, [WrongHash], null, now))));

        var result = await VerifyAsync(key, WrongHash);

        result.Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, MaxAttempts - 1));
    }
}
