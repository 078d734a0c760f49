using System.Buffers.Text;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Senders;
using OtpVerification.Stores;
using static OtpVerification.Core.Tests.Engine.EngineHarness;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>The engine's answers to the holes of the security issue: flow binding, delivered destination, undoable sends, rolling and per-destination limits, decoys.</summary>
public sealed class OtpEngineSecurityTests : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);
    private static readonly OtpDestination EmailDestination = new(OtpChannel.Email, Address);
    private static readonly OtpDestination PhoneDestination = new(OtpChannel.Sms, Phone);

    private readonly EngineHarness _h = new(o => o.Code.Length = 10);

    public void Dispose() => _h.Dispose();

    private static OtpStartRequest Start(string address, OtpPurpose purpose = OtpPurpose.Signup, bool decoy = false, params OtpDestination[] destinations) => Start(address, purpose, decoy, null, destinations);

    private static OtpStartRequest Start(string address, OtpPurpose purpose, bool decoy, string? deviceId, params OtpDestination[] destinations) => new()
    {
        DeviceId = deviceId,
        Purpose = purpose,
        Address = address,
        Destinations = destinations.Length > 0 ? destinations : [new OtpDestination(OtpChannel.Email, address)],
        Payload = [1],
        Decoy = decoy,
    };

    private List<string> FailSmsAndKeepItsCodes()
    {
        var codes = new List<string>();
        _h.Sms.FailWith(m =>
        {
            lock (codes)
            {
                codes.Add(m.Code);
            }

            return new OtpDeliveryException("SMS provider down (test).");
        });
        return codes;
    }

    // ----- Flow binding -----

    [Fact]
    public async Task StartAsync_Accepted_AnswersA128BitBase64UrlFlowId()
    {
        var result = await _h.StartAsync();

        Base64Url.DecodeFromChars(result.FlowId).Should().HaveCount(16);
    }

    [Fact]
    public async Task StartAsync_TwoStarts_AnswerDifferentFlowIds()
    {
        var first = await _h.StartAsync();
        _h.Time.Advance(Cooldown);

        var second = await _h.StartAsync();

        second.FlowId.Should().NotBe(first.FlowId);
    }

    [Fact]
    public async Task VerifyAsync_RightCodeWithAnotherFlowId_IsFlowExpired()
    {
        await _h.StartAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode, flowId: "AAAAAAAAAAAAAAAAAAAAAA");

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.FlowExpired });
    }

    [Fact]
    public async Task VerifyAsync_WrongFlowGuesses_LeaveEveryAttempt()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        for (var i = 0; i < 10; i++)
        {
            await _h.VerifyAsync(WrongCode(code), flowId: "stale-flow");
        }

        var result = await _h.VerifyAsync(WrongCode(code));

        result.AttemptsRemaining.Should().Be(4);
    }

    [Fact]
    public async Task VerifyAsync_RestartedByAnyone_OldFlowIsFlowExpiredEvenWithTheNewCode()
    {
        var owner = await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        await _h.StartAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode, flowId: owner.FlowId);

        result.Outcome.Should().Be(OtpOutcome.FlowExpired);
    }

    [Fact]
    public async Task ResendAsync_Accepted_KeepsTheFlow()
    {
        var started = await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode, flowId: started.FlowId);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    // ----- Hole 1: only the destination that received the code is proven -----

    [Fact]
    public async Task StartAsync_SmsFailsAndEmailFallback_EmailGetsANewCode()
    {
        var smsCodes = FailSmsAndKeepItsCodes();

        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));

        _h.Email.LastCode.Should().NotBe(smsCodes.Single());
    }

    [Fact]
    public async Task StartAsync_SmsFailsAndEmailFallback_SmsCodeDoesNotVerify()
    {
        var smsCodes = FailSmsAndKeepItsCodes();
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));

        var result = await _h.VerifyAsync(smsCodes.Single());

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
    }

    [Fact]
    public async Task StartAsync_SmsFailsAndEmailFallback_RegistrationIsDeliveredToTheEmail()
    {
        FailSmsAndKeepItsCodes();
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Registration!.DeliveredTo.Should().Be(EmailDestination);
    }

    [Fact]
    public async Task StartAsync_SmsDelivered_RegistrationIsDeliveredToThePhone()
    {
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));

        var result = await _h.VerifyAsync(_h.Sms.LastCode);

        result.Registration!.DeliveredTo.Should().Be(PhoneDestination);
    }

    [Fact]
    public async Task StartAsync_EmailFailsAndSmsFallback_RegistrationIsDeliveredToThePhone()
    {
        _h.Email.FailWith();
        await _h.StartWithAsync(Start(Address, destinations: [EmailDestination, PhoneDestination]));

        var result = await _h.VerifyAsync(_h.Sms.LastCode);

        result.Registration!.DeliveredTo.Should().Be(PhoneDestination);
    }

    [Fact]
    public async Task ResendAsync_SmsFailsAndEmailFallback_RegistrationIsDeliveredToTheEmail()
    {
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));
        _h.Time.Advance(Cooldown);
        FailSmsAndKeepItsCodes();
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Registration!.DeliveredTo.Should().Be(EmailDestination);
    }

    [Fact]
    public async Task ResendAsync_SmsFailsAndEmailFallback_UndeliveredSmsCodeDoesNotVerify()
    {
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));
        _h.Time.Advance(Cooldown);
        var smsCodes = FailSmsAndKeepItsCodes();
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(smsCodes.Single());

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
    }

    [Fact]
    public async Task ResendAsync_EverySenderDownAfterAFallback_PreviousCodeStillVerifies()
    {
        await _h.StartWithAsync(Start(Address, destinations: [PhoneDestination, EmailDestination]));
        var code = _h.Sms.LastCode;
        _h.Time.Advance(Cooldown);
        _h.Sms.FailWith();
        _h.Email.FailWith();
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(code);

        result.Registration!.DeliveredTo.Should().Be(PhoneDestination);
    }

    // ----- Hole 4: an undelivered resend refills nothing -----

    [Fact]
    public async Task ResendAsync_UndeliveredAfterThreeWrongGuesses_TwoMoreWrongGuessesLockTheCode()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        for (var i = 0; i < 3; i++)
        {
            await _h.VerifyAsync(WrongCode(code));
        }

        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        (await _h.ResendAsync()).Outcome.Should().Be(OtpOutcome.Unavailable);
        _h.Email.Succeed();
        await _h.VerifyAsync(WrongCode(code));
        await _h.VerifyAsync(WrongCode(code));

        var result = await _h.VerifyAsync(code);

        result.Outcome.Should().Be(OtpOutcome.MaxAttempts);
    }

    [Fact]
    public async Task ResendAsync_Undelivered_NextWrongGuessReportsTheAttemptsLeftBefore()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        for (var i = 0; i < 3; i++)
        {
            await _h.VerifyAsync(WrongCode(code));
        }

        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(WrongCode(code));

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.InvalidCode, AttemptsRemaining = 1 });
    }

    [Fact]
    public async Task ResendAsync_Undelivered_PreviousCodeStillVerifies()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        await _h.VerifyAsync(WrongCode(code));
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(code);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task ResendAsync_UndeliveredLoopDuringAnOutage_NeverGivesMoreThanMaxAttemptsGuesses()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        _h.Email.FailWith();
        var evaluated = 0;
        for (var round = 0; round < 10; round++)
        {
            _h.Time.Advance(Cooldown);
            await _h.ResendAsync();
            for (var guess = 0; guess < 5; guess++)
            {
                if ((await _h.VerifyAsync(WrongCode(code))).Outcome == OtpOutcome.InvalidCode)
                {
                    evaluated++;
                }
            }
        }

        evaluated.Should().Be(5);
    }

    // ----- Hole 8: a rolling hour -----

    [Fact]
    public async Task StartAsync_EveryMinuteFrom56To64AfterOneAt0_AcceptsOnlyWhatTheRollingHourHasRoomFor()
    {
        var start = _h.Time.GetUtcNow();
        var accepted = new List<int>();
        foreach (var minute in new[] { 0 }.Concat(Enumerable.Range(56, 9)))
        {
            _h.Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            if ((await _h.StartAsync()).Outcome == OtpOutcome.Accepted)
            {
                accepted.Add(minute);
            }
        }

        accepted.Should().Equal(0, 56, 57, 58, 59, 60);
    }

    [Fact]
    public async Task StartAsync_EveryMinuteFor3Hours_NoSixtyMinutesHoldMoreThanMaxPerHourCodes()
    {
        var start = _h.Time.GetUtcNow();
        for (var minute = 0; minute < 180; minute++)
        {
            _h.Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await _h.StartAsync();
        }

        var sent = _h.Email.Messages.Select(m => m.SentAt).ToArray();

        sent.Should().OnlyContain(t => sent.Count(o => o >= t && o < t + TimeSpan.FromHours(1)) <= 5);
    }

    [Fact]
    public async Task StartAsync_RollingHourFull_RetryAfterIsWhenTheOldestCodeLeavesIt()
    {
        var start = _h.Time.GetUtcNow();
        foreach (var minute in new[] { 0, 56, 57, 58, 59, 60 })
        {
            _h.Time.SetUtcNow(start + TimeSpan.FromMinutes(minute));
            await _h.StartAsync();
        }

        _h.Time.SetUtcNow(start + TimeSpan.FromMinutes(64));
        var result = await _h.StartAsync();

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.RateLimited, ResendAfter = TimeSpan.FromMinutes(52), RetryAfter = TimeSpan.FromMinutes(52) });
    }

    // ----- Hole 9: limits per destination -----

    [Fact]
    public async Task StartAsync_OnePhoneAcrossManyEmails_GetsAtMostMaxPerHourCodes()
    {
        for (var i = 0; i < 8; i++)
        {
            await _h.StartWithAsync(Start($"u{i}@example.com", destinations: [PhoneDestination]));
            _h.Time.Advance(Cooldown);
        }

        _h.Sms.Messages.Should().HaveCount(5);
    }

    [Fact]
    public async Task StartAsync_OnePhoneAcrossManyEmails_SixthIsRateLimitedUntilTheFirstLeavesTheHour()
    {
        for (var i = 0; i < 5; i++)
        {
            await _h.StartWithAsync(Start($"u{i}@example.com", destinations: [PhoneDestination]));
            _h.Time.Advance(Cooldown);
        }

        var result = await _h.Engine.StartAsync(Start("u5@example.com", destinations: [PhoneDestination]));

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.RateLimited, ResendAfter = TimeSpan.FromMinutes(55), RetryAfter = TimeSpan.FromMinutes(55) });
    }

    [Fact]
    public async Task StartAsync_OnePhoneAcrossManyEmails_SixthFallsBackToItsEmail()
    {
        for (var i = 0; i < 5; i++)
        {
            await _h.StartWithAsync(Start($"u{i}@example.com", destinations: [PhoneDestination]));
            _h.Time.Advance(Cooldown);
        }

        await _h.Engine.StartAsync(Start("u5@example.com", destinations: [PhoneDestination, new OtpDestination(OtpChannel.Email, "u5@example.com")]));

        _h.Email.Messages.Should().ContainSingle().Which.To.Should().Be("u5@example.com");
    }

    [Fact]
    public async Task StartAsync_PhoneOverItsLimitWithEmailFallback_RegistrationProvesOnlyTheEmail()
    {
        for (var i = 0; i < 5; i++)
        {
            await _h.StartWithAsync(Start($"u{i}@example.com", destinations: [PhoneDestination]));
            _h.Time.Advance(Cooldown);
        }

        var fallback = new OtpDestination(OtpChannel.Email, "u5@example.com");
        var started = await _h.Engine.StartAsync(Start("u5@example.com", destinations: [PhoneDestination, fallback]));
        var result = await _h.Engine.VerifyAsync(OtpPurpose.Signup, "u5@example.com", started.FlowId!, _h.Email.LastCode, null);

        result.Registration!.DeliveredTo.Should().Be(fallback);
    }

    [Fact]
    public async Task StartAsync_PlusAliasesOfOneMailbox_ShareItsLimit()
    {
        for (var i = 1; i <= 8; i++)
        {
            await _h.Engine.StartAsync(Start($"a+{i}@example.com"));
            _h.Time.Advance(Cooldown);
        }

        _h.Email.Messages.Should().HaveCount(5);
    }

    [Fact]
    public async Task StartAsync_GmailDotAndPlusAliases_ShareOneLimit()
    {
        foreach (var alias in new[] { "a.na@gmail.com", "an.a@gmail.com", "a.n.a@gmail.com", "ana+1@gmail.com", "a.na+2@googlemail.com", "an.a+3@gmail.com", "a.n.a+4@gmail.com" })
        {
            await _h.Engine.StartAsync(Start(alias));
            _h.Time.Advance(Cooldown);
        }

        _h.Email.Messages.Should().HaveCount(5);
    }

    [Fact]
    public async Task StartAsync_MailboxItselfAndItsAliases_ShareOneLimit()
    {
        foreach (var address in new[] { "a@example.com", "a@example.com", "a@example.com", "a+1@example.com", "a+2@example.com", "a+3@example.com", "a+4@example.com" })
        {
            await _h.Engine.StartAsync(Start(address));
            _h.Time.Advance(Cooldown);
        }

        _h.Email.Messages.Should().HaveCount(5);
    }

    [Fact]
    public async Task StartAsync_PhoneKeyedSignupsAndEmailsSendingToThatPhone_ShareOneLimit()
    {
        foreach (var address in new[] { Phone, Phone, Phone, "u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com" })
        {
            await _h.Engine.StartAsync(Start(address, destinations: [PhoneDestination]));
            _h.Time.Advance(Cooldown);
        }

        _h.Sms.Messages.Should().HaveCount(5);
    }

    [Fact]
    public async Task StartAsync_AliasesOfDifferentMailboxes_AreLimitedSeparately()
    {
        for (var i = 1; i <= 5; i++)
        {
            await _h.Engine.StartAsync(Start($"a+{i}@example.com"));
            _h.Time.Advance(Cooldown);
        }

        var other = await _h.Engine.StartAsync(Start("b+1@example.com"));

        other.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    // ----- Decoys -----

    [Fact]
    public async Task ResendAsync_Decoy_SendsNothing()
    {
        await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: true, EmailDestination, PhoneDestination));
        _h.Time.Advance(Cooldown);

        await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);

        (_h.Email.Attempts + _h.Sms.Attempts).Should().Be(0);
    }

    [Fact]
    public async Task ResendAsync_Decoy_AnswersLikeARealResend()
    {
        await _h.Engine.StartAsync(Start("real@example.com", OtpPurpose.PasswordReset));
        await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: true));
        _h.Time.Advance(Cooldown);
        var real = await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, "real@example.com");

        var decoy = await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);

        decoy.Should().Be(real);
    }

    [Fact]
    public async Task StartAsync_Decoy_AnswersLikeARealStartButForTheFlowId()
    {
        var real = await _h.Engine.StartAsync(Start("real@example.com", OtpPurpose.SignIn));

        var decoy = await _h.Engine.StartAsync(Start(Address, OtpPurpose.SignIn, decoy: true));

        (decoy with { FlowId = real.FlowId }).Should().Be(real);
    }

    [Fact]
    public async Task VerifyAsync_DecoyGuessedFiveTimes_IsMaxAttemptsLikeARealEntry()
    {
        await _h.StartWithAsync(Start(Address, OtpPurpose.PasswordReset, decoy: true));
        for (var i = 0; i < 5; i++)
        {
            await _h.VerifyAsync("0000000000", OtpPurpose.PasswordReset);
        }

        var result = await _h.VerifyAsync("0000000000", OtpPurpose.PasswordReset);

        result.Outcome.Should().Be(OtpOutcome.MaxAttempts);
    }

    [Fact]
    public async Task VerifyAsync_DecoyFromAnotherDevice_IsDeviceMismatchLikeARealEntry()
    {
        await _h.StartWithAsync(Start(Address, OtpPurpose.PasswordReset, decoy: true, "device-1"));

        var result = await _h.VerifyAsync("0000000000", OtpPurpose.PasswordReset, "device-2");

        result.Outcome.Should().Be(OtpOutcome.DeviceMismatch);
    }

    // ----- Every sender down -----

    [Theory]
    [InlineData(OtpPurpose.PasswordReset)]
    [InlineData(OtpPurpose.SignIn)]
    public async Task StartAsync_ConcealingPurposeWithEverySenderDown_IsAcceptedLikeADecoy(OtpPurpose purpose)
    {
        var decoy = await _h.Engine.StartAsync(Start("unknown@example.com", purpose, decoy: true));
        _h.Email.FailWith();
        _h.Sms.FailWith();

        var result = await _h.Engine.StartAsync(Start(Address, purpose, destinations: [EmailDestination, PhoneDestination]));

        (result with { FlowId = decoy.FlowId }).Should().Be(decoy);
    }

    [Fact]
    public async Task ResendAsync_PasswordResetWithEverySenderDown_IsAccepted()
    {
        await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset));
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();

        var result = await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);

        result.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_SignupWithEverySenderDown_IsUnavailable()
    {
        _h.Email.FailWith();
        _h.Sms.FailWith();

        var result = await _h.Engine.StartAsync(Start(Address, destinations: [EmailDestination, PhoneDestination]));

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task StartAsync_SignupWithEverySenderDown_LeavesNoRegistration()
    {
        _h.Email.FailWith();
        _h.Sms.FailWith();
        await _h.Engine.StartAsync(Start(Address, destinations: [EmailDestination, PhoneDestination]));

        var deleted = await _h.Store.DeleteAsync(new PendingKey(OtpPurpose.Signup, Address));

        deleted.Should().BeFalse();
    }

    [Fact]
    public async Task StartAsync_SignupRestartWithEverySenderDown_ReplacedFlowWorksAgain()
    {
        var owner = await _h.StartAsync();
        var code = _h.Email.LastCode;
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        _h.Sms.FailWith();
        await _h.Engine.StartAsync(Start(Address, destinations: [EmailDestination, PhoneDestination]));

        var result = await _h.VerifyAsync(code, flowId: owner.FlowId);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    // ----- Verify and cancellation -----

    [Fact]
    public async Task VerifyAsync_TokenCancelledBeforeTheCall_Throws()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore>(sp => new CancellingStore(new InMemoryPendingRegistrationStore(1_000, sp.GetRequiredService<TimeProvider>()))));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var act = async () => await h.Engine.VerifyAsync(OtpPurpose.Signup, Address, "flow", "123456", null, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task VerifyAsync_TokenCancelledBeforeTheCall_NeverReachesTheStore()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore>(sp => new CancellingStore(new InMemoryPendingRegistrationStore(1_000, sp.GetRequiredService<TimeProvider>()))));
        var store = (CancellingStore)h.Store;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await FluentActions.Awaiting(async () => await h.Engine.VerifyAsync(OtpPurpose.Signup, Address, "flow", "123456", null, cts.Token)).Should().ThrowAsync<OperationCanceledException>();

        store.VerifyCalls.Should().Be(0);
    }

    [Fact]
    public async Task VerifyAsync_TokenCancelledDuringTheStoreCall_StillVerifies()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore>(sp => new CancellingStore(new InMemoryPendingRegistrationStore(1_000, sp.GetRequiredService<TimeProvider>()))));
        var store = (CancellingStore)h.Store;
        await h.StartAsync();
        using var cts = new CancellationTokenSource();
        store.CancelOnVerify = cts;

        var result = await h.Engine.VerifyAsync(OtpPurpose.Signup, Address, h.FlowId!, h.Email.LastCode, null, cts.Token);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task VerifyAsync_TokenCancelledDuringTheStoreCall_StoreGotCancellationTokenNone()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore>(sp => new CancellingStore(new InMemoryPendingRegistrationStore(1_000, sp.GetRequiredService<TimeProvider>()))));
        var store = (CancellingStore)h.Store;
        await h.StartAsync();
        using var cts = new CancellationTokenSource();
        store.CancelOnVerify = cts;

        await h.Engine.VerifyAsync(OtpPurpose.Signup, Address, h.FlowId!, h.Email.LastCode, null, cts.Token);

        store.VerifyToken.Should().Be(CancellationToken.None);
    }

    // ----- Logging -----

    [Fact]
    public async Task Flow_LoggedAtTrace_NeverContainsTheFlowId()
    {
        var flowIds = new List<string>();
        _h.Email.FailWith();
        flowIds.Add((await _h.StartWithAsync(Start(Address, destinations: [EmailDestination, PhoneDestination]))).FlowId!);
        await _h.VerifyAsync(WrongCode(_h.Sms.LastCode));
        await _h.VerifyAsync(_h.Sms.LastCode, flowId: "stale-flow");
        flowIds.Add((await _h.Engine.StartAsync(Start("unknown@example.com", OtpPurpose.PasswordReset, decoy: true))).FlowId!);
        await _h.VerifyAsync(_h.Sms.LastCode);
        _h.Logs.Entries.Should().NotBeEmpty("the flow must have logged something for this test to mean anything");

        var text = string.Join("\n---\n", _h.Logs.Entries.Select(e => e.AllText()));

        flowIds.Should().AllSatisfy(flowId => text.Should().NotContain(flowId));
    }

    // ----- Senders -----

    [Fact]
    public void HasSender_RegisteredChannels_IsTrue()
    {
        new[] { _h.Engine.HasSender(OtpChannel.Email), _h.Engine.HasSender(OtpChannel.Sms) }.Should().Equal(true, true);
    }

    /// <summary>A store that cancels the caller's token while a verify is inside it, and records the token it was given.</summary>
    private sealed class CancellingStore(IPendingRegistrationStore inner) : IPendingRegistrationStore
    {
        private int _verifyCalls;

        public CancellationTokenSource? CancelOnVerify { get; set; }

        public CancellationToken? VerifyToken { get; private set; }

        public int VerifyCalls => Volatile.Read(ref _verifyCalls);

        public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => inner.CreateOrReplaceAsync(registration, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => inner.ReserveSendAsync(key, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => inner.ResendAsync(key, code, policy, now, cancellationToken);

        public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
            => inner.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken);

        public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _verifyCalls);
            VerifyToken = cancellationToken;
            if (CancelOnVerify is { } cts)
            {
                await cts.CancelAsync();
            }

            return await inner.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken);
        }

        public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
            => inner.CancelSendAsync(key, codeHash, cancellationToken);

        public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
            => inner.PutBackAsync(registration, now, cancellationToken);

        public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
            => inner.DeleteAsync(key, cancellationToken);
    }
}
