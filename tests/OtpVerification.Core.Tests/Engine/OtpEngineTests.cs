using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Senders;
using OtpVerification.Stores;
using OtpVerification.Testing;
using static OtpVerification.Core.Tests.Engine.EngineHarness;

namespace OtpVerification.Core.Tests.Engine;

public sealed class OtpEngineTests : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);

    private readonly EngineHarness _h = new();

    public void Dispose() => _h.Dispose();

    // ----- StartAsync -----

    [Fact]
    public async Task StartAsync_NewAddress_IsAcceptedWithLifetimeAndCooldown()
    {
        var result = await _h.StartAsync();

        (result with { FlowId = null }).Should().Be(new OtpSendResult { Outcome = OtpOutcome.Accepted, ExpiresIn = Lifetime, ResendAfter = Cooldown });
    }

    [Fact]
    public async Task StartAsync_NewAddress_SendsOneCodeToTheAddress()
    {
        await _h.StartAsync();

        _h.Email.Messages.Should().ContainSingle().Which.To.Should().Be(Address);
    }

    [Fact]
    public async Task StartAsync_ConfiguredLength_SendsACodeOfThatManyDigits()
    {
        using var h = new EngineHarness(o => o.Code.Length = 8);

        await h.StartAsync();

        h.Email.LastCode.Should().MatchRegex("^[0-9]{8}$");
    }

    [Fact]
    public async Task StartAsync_WithinCooldown_IsTooFrequentWithRetryAfter()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromSeconds(20));

        var result = await _h.StartAsync();

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.TooFrequent, ResendAfter = TimeSpan.FromSeconds(40), RetryAfter = TimeSpan.FromSeconds(40) });
    }

    [Fact]
    public async Task StartAsync_WithinCooldown_SendsNothingMore()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromSeconds(20));

        await _h.StartAsync();

        _h.Email.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task StartAsync_HourlyAllowanceUsed_IsRateLimitedUntilTheHourEnds()
    {
        for (var i = 0; i < 5; i++)
        {
            (await _h.StartAsync()).Outcome.Should().Be(OtpOutcome.Accepted);
            _h.Time.Advance(Cooldown);
        }

        var result = await _h.StartAsync();

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.RateLimited, ResendAfter = TimeSpan.FromMinutes(55), RetryAfter = TimeSpan.FromMinutes(55) });
    }

    [Fact]
    public async Task StartAsync_AfterTheHour_IsAcceptedAgain()
    {
        for (var i = 0; i < 6; i++)
        {
            await _h.StartAsync();
            _h.Time.Advance(Cooldown);
        }

        _h.Time.Advance(TimeSpan.FromMinutes(54));
        var result = await _h.StartAsync();

        result.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_Restart_OldCodeStopsWorking()
    {
        await _h.StartAsync();
        var oldCode = _h.Email.LastCode;
        _h.Time.Advance(Cooldown);
        await _h.StartAsync();

        var result = await _h.VerifyAsync(oldCode);

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
    }

    [Fact]
    public async Task StartAsync_Restart_NewCodeWorks()
    {
        await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        await _h.StartAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task StartAsync_SenderFails_IsUnavailable()
    {
        _h.Email.FailWith();

        var result = await _h.StartAsync();

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task StartAsync_SenderFails_LeavesNoRegistration()
    {
        _h.Email.FailWith();
        await _h.StartAsync();

        var deleted = await _h.Store.DeleteAsync(new PendingKey(OtpPurpose.Signup, Address));

        deleted.Should().BeFalse();
    }

    [Fact]
    public async Task StartAsync_SenderFails_DoesNotStartTheCooldown()
    {
        _h.Email.FailWith();
        await _h.StartAsync();
        _h.Email.Succeed();

        var result = await _h.StartAsync();

        result.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_FirstDestinationFails_FallsBackToTheSecond()
    {
        _h.Email.FailWith();

        var result = await _h.StartWithAsync(Request(withPhone: true));

        result.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_FirstDestinationFails_SendsTheCodeToTheSecond()
    {
        _h.Email.FailWith();

        await _h.StartWithAsync(Request(withPhone: true));

        _h.Sms.Messages.Should().ContainSingle().Which.To.Should().Be(Phone);
    }

    [Fact]
    public async Task StartAsync_FallbackCode_Verifies()
    {
        _h.Email.FailWith();
        await _h.StartWithAsync(Request(withPhone: true));

        var result = await _h.VerifyAsync(_h.Sms.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task StartAsync_FirstDestinationWorks_DoesNotUseTheSecond()
    {
        await _h.StartWithAsync(Request(withPhone: true));

        _h.Sms.Attempts.Should().Be(0);
    }

    [Fact]
    public async Task StartAsync_Decoy_IsAcceptedLikeARealStart()
    {
        var result = await _h.Engine.StartAsync(Request(OtpPurpose.PasswordReset, decoy: true));

        (result with { FlowId = null }).Should().Be(new OtpSendResult { Outcome = OtpOutcome.Accepted, ExpiresIn = Lifetime, ResendAfter = Cooldown });
    }

    [Fact]
    public async Task StartAsync_Decoy_AnswersAFlowIdLikeARealStart()
    {
        var result = await _h.Engine.StartAsync(Request(OtpPurpose.PasswordReset, decoy: true));

        System.Buffers.Text.Base64Url.DecodeFromChars(result.FlowId).Should().HaveCount(16);
    }

    [Fact]
    public async Task StartAsync_Decoy_SendsNothing()
    {
        await _h.Engine.StartAsync(Request(OtpPurpose.PasswordReset, decoy: true, withPhone: true));

        (_h.Email.Attempts + _h.Sms.Attempts).Should().Be(0);
    }

    [Fact]
    public async Task StartAsync_Decoy_StoresAnEntryThatCountsGuessesLikeARealOne()
    {
        await _h.StartWithAsync(Request(OtpPurpose.PasswordReset, decoy: true));

        var result = await _h.VerifyAsync("123456", OtpPurpose.PasswordReset);

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.InvalidCode, AttemptsRemaining = 4 });
    }

    [Fact]
    public async Task StartAsync_DecoyTwiceWithinCooldown_IsTooFrequent()
    {
        await _h.Engine.StartAsync(Request(OtpPurpose.PasswordReset, decoy: true));
        _h.Time.Advance(TimeSpan.FromSeconds(30));

        var result = await _h.Engine.StartAsync(Request(OtpPurpose.PasswordReset, decoy: true));

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.TooFrequent, ResendAfter = TimeSpan.FromSeconds(30), RetryAfter = TimeSpan.FromSeconds(30) });
    }

    [Fact]
    public async Task StartAsync_StoreFull_IsUnavailable()
    {
        using var h = new EngineHarness(o => (o.MaxPendingEntries, o.MaxLimitRecords) = (1, 1));
        await h.Engine.StartAsync(new OtpStartRequest { Purpose = OtpPurpose.Signup, Address = "someone@example.com", Destinations = [new OtpDestination(OtpChannel.Email, "someone@example.com")] });

        var result = await h.StartAsync();

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task StartAsync_StoreDown_IsUnavailable()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore, DownStore>());

        var result = await h.StartAsync();

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task StartAsync_StoreDown_SendsNothing()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore, DownStore>());

        await h.StartAsync();

        h.Email.Attempts.Should().Be(0);
    }

    [Fact]
    public async Task StartAsync_NoDestination_Throws()
    {
        var act = async () => await _h.Engine.StartAsync(new OtpStartRequest { Purpose = OtpPurpose.Signup, Address = Address, Destinations = [] });

        await act.Should().ThrowAsync<ArgumentException>();
    }

    // ----- VerifyAsync -----

    [Fact]
    public async Task VerifyAsync_RightCode_IsVerifiedWithThePayload()
    {
        await _h.StartAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Registration!.Payload.ToArray().Should().Equal(42, 7);
    }

    [Fact]
    public async Task VerifyAsync_CodeWithSurroundingSpaces_IsVerified()
    {
        await _h.StartAsync();

        var result = await _h.VerifyAsync($"  {_h.Email.LastCode} ");

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task VerifyAsync_ExactlyAtCodeLifetime_IsCodeExpired()
    {
        await _h.StartAsync();
        _h.Time.Advance(Lifetime);

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.CodeExpired);
    }

    [Fact]
    public async Task VerifyAsync_OneTickBeforeCodeLifetime_IsVerified()
    {
        await _h.StartAsync();
        _h.Time.Advance(Lifetime - TimeSpan.FromTicks(1));

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task VerifyAsync_AfterPendingLifetime_IsFlowExpired()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromMinutes(30));

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.FlowExpired });
    }

    [Fact]
    public async Task VerifyAsync_WrongCode_IsInvalidWithAttemptsRemaining()
    {
        await _h.StartAsync();

        var result = await _h.VerifyAsync(WrongCode(_h.Email.LastCode));

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.InvalidCode, AttemptsRemaining = 4 });
    }

    [Fact]
    public async Task VerifyAsync_AfterMaxAttemptsWrongGuesses_IsMaxAttemptsForTheRightCode()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        for (var i = 0; i < 5; i++)
        {
            await _h.VerifyAsync(WrongCode(code));
        }

        var result = await _h.VerifyAsync(code);

        result.Outcome.Should().Be(OtpOutcome.MaxAttempts);
    }

    [Fact]
    public async Task VerifyAsync_RightCodeTwice_SecondIsFlowExpired()
    {
        await _h.StartAsync();
        await _h.VerifyAsync(_h.Email.LastCode);

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.FlowExpired });
    }

    [Fact]
    public async Task VerifyAsync_200ParallelRightCodes_VerifiesExactlyOnce()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await _h.VerifyAsync(code))));

        results.Count(r => r.Outcome == OtpOutcome.Verified).Should().Be(1);
    }

    [Fact]
    public async Task VerifyAsync_UnknownAddress_IsFlowExpired()
    {
        var result = await _h.VerifyAsync("123456", flowId: "never-issued");

        result.Should().Be(new OtpVerifyResult { Outcome = OtpOutcome.FlowExpired });
    }

    [Fact]
    public async Task VerifyAsync_OtherDevice_IsDeviceMismatch()
    {
        await _h.StartAsync(deviceId: "device-1");

        var result = await _h.VerifyAsync(_h.Email.LastCode, deviceId: "device-2");

        result.Outcome.Should().Be(OtpOutcome.DeviceMismatch);
    }

    [Fact]
    public async Task VerifyAsync_SameDevice_IsVerified()
    {
        await _h.StartAsync(deviceId: "device-1");

        var result = await _h.VerifyAsync(_h.Email.LastCode, deviceId: "device-1");

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task VerifyAsync_SignupCodeForPasswordReset_IsInvalidCode()
    {
        await _h.StartAsync(OtpPurpose.Signup);
        var signupCode = _h.Email.LastCode;
        await _h.StartAsync(OtpPurpose.PasswordReset);

        var result = await _h.VerifyAsync(signupCode, OtpPurpose.PasswordReset);

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
    }

    [Fact]
    public async Task VerifyAsync_StoreDown_IsUnavailable()
    {
        using var h = new EngineHarness(services: s => s.AddSingleton<IPendingRegistrationStore, DownStore>());

        var result = await h.VerifyAsync("123456");

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    // ----- ResendAsync -----

    [Fact]
    public async Task ResendAsync_NewCodeStrategy_OldCodeStopsWorking()
    {
        using var h = new EngineHarness(o => o.Resend.Strategy = OtpResendStrategy.NewCode);
        await h.StartAsync();
        var oldCode = h.Email.LastCode;
        h.Time.Advance(Cooldown);
        await h.ResendAsync();

        var result = await h.VerifyAsync(oldCode);

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
    }

    [Fact]
    public async Task ResendAsync_SameCodeEarly_MailsTheSameCodeAgainSayingSo()
    {
        await _h.StartAsync();
        var first = _h.Email.LastCode;
        _h.Time.Advance(Cooldown);

        await _h.ResendAsync();

        _h.Email.Messages.Should().HaveCount(2);
        _h.Email.Messages[1].Code.Should().Be(first);
        _h.Email.Messages[1].IsRepeat.Should().BeTrue();
        new DefaultOtpMessageFormatter().Format(_h.Email.Messages[1]).TextBody.Should().Contain("same code");
        (await _h.VerifyAsync(first)).Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task ResendAsync_SameCode_ThreeWrongThenResendThenTwoWrong_LocksTheCode()
    {
        await _h.StartAsync();
        var code = _h.Email.LastCode;
        for (var i = 1; i <= 3; i++)
        {
            (await _h.VerifyAsync(WrongCode(code, i))).Outcome.Should().Be(OtpOutcome.InvalidCode);
        }

        _h.Time.Advance(Cooldown);
        await _h.ResendAsync();
        _h.Email.LastCode.Should().Be(code);
        (await _h.VerifyAsync(WrongCode(code, 4))).AttemptsRemaining.Should().Be(1);
        (await _h.VerifyAsync(WrongCode(code, 5))).AttemptsRemaining.Should().Be(0);

        (await _h.VerifyAsync(code)).Outcome.Should().Be(OtpOutcome.MaxAttempts, "a resend never refills the guesses");
    }

    [Fact]
    public async Task ResendAsync_SameCodeLateInTheLifetime_MailsANewCodeAndTheOldOneDies()
    {
        await _h.StartAsync();
        var first = _h.Email.LastCode;
        _h.Time.Advance(TimeSpan.FromMinutes(6));

        await _h.ResendAsync();

        var second = _h.Email.LastCode;
        second.Should().NotBe(first);
        _h.Email.Messages[^1].IsRepeat.Should().BeFalse();
        (await _h.VerifyAsync(first)).Outcome.Should().Be(OtpOutcome.InvalidCode);
        (await _h.VerifyAsync(second)).Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task ResendAsync_AfterCooldown_NewCodeWorks()
    {
        await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        await _h.ResendAsync();

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task ResendAsync_NewCodeStrategyAfterWrongGuesses_ResetsTheAttempts()
    {
        using var h = new EngineHarness(o => o.Resend.Strategy = OtpResendStrategy.NewCode);
        await h.StartAsync();
        await h.VerifyAsync(WrongCode(h.Email.LastCode));
        await h.VerifyAsync(WrongCode(h.Email.LastCode));
        h.Time.Advance(Cooldown);
        await h.ResendAsync();

        var result = await h.VerifyAsync(WrongCode(h.Email.LastCode));

        result.AttemptsRemaining.Should().Be(4);
    }

    [Fact]
    public async Task ResendAsync_WithinCooldown_IsTooFrequent()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromSeconds(59));

        var result = await _h.ResendAsync();

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.TooFrequent, ResendAfter = TimeSpan.FromSeconds(1), RetryAfter = TimeSpan.FromSeconds(1) });
    }

    [Fact]
    public async Task ResendAsync_NothingPending_IsAccepted()
    {
        var result = await _h.ResendAsync();

        result.Should().Be(new OtpSendResult { Outcome = OtpOutcome.Accepted, ExpiresIn = Lifetime, ResendAfter = Cooldown });
    }

    [Fact]
    public async Task ResendAsync_NothingPending_SendsNothing()
    {
        await _h.ResendAsync();

        _h.Email.Attempts.Should().Be(0);
    }

    [Fact]
    public async Task ResendAsync_LateInThePendingLifetime_ReportsTheFullCodeLifetime()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromMinutes(25));

        var result = await _h.ResendAsync();

        // Never cut short: a shorter expiresIn would tell a pending signup from an address that has none.
        result.ExpiresIn.Should().Be(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task ResendAsync_LateInThePendingLifetime_TheNewCodeWorksPastThePendingLifetime()
    {
        await _h.StartAsync();
        _h.Time.Advance(TimeSpan.FromMinutes(25));
        await _h.ResendAsync();
        _h.Time.Advance(TimeSpan.FromMinutes(9));

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task ResendAsync_SenderFails_IsUnavailable()
    {
        await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();

        var result = await _h.ResendAsync();

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task ResendAsync_SenderFailed_CanBeRetriedAtOnce()
    {
        await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        await _h.ResendAsync();
        _h.Email.Succeed();

        var result = await _h.ResendAsync();

        result.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    // ----- RestoreAsync -----

    [Fact]
    public async Task RestoreAsync_AfterVerify_SameCodeVerifiesAgain()
    {
        await _h.StartAsync();
        var verified = await _h.VerifyAsync(_h.Email.LastCode);
        await _h.Engine.RestoreAsync(verified.Registration!);

        var result = await _h.VerifyAsync(_h.Email.LastCode);

        result.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task RestoreAsync_AfterVerify_LeavesTheSendLimitsAsTheyWere()
    {
        await _h.StartAsync();
        _h.Time.Advance(Cooldown);
        var verified = await _h.VerifyAsync(_h.Email.LastCode);
        await _h.Engine.RestoreAsync(verified.Registration!);

        var resend = await _h.ResendAsync();

        resend.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    // ----- Logging -----

    [Fact]
    public async Task Flow_LoggedAtTrace_NeverContainsACode()
    {
        var codes = new List<string>();
        _h.Email.FailWith(m =>
        {
            lock (codes)
            {
                codes.Add(m.Code);
            }

            return new OtpDeliveryException($"SMTP refused message with code {m.Code}");
        });
        await _h.StartWithAsync(Request(withPhone: true));
        await _h.VerifyAsync(WrongCode(_h.Sms.LastCode));
        _h.Time.Advance(Cooldown);
        await _h.ResendAsync();
        await _h.VerifyAsync(_h.Sms.LastCode);
        await _h.ResendAsync();
        codes.AddRange(_h.Sms.Messages.Select(m => m.Code));
        codes.Add(WrongCode(_h.Sms.LastCode));
        _h.Logs.Entries.Should().NotBeEmpty("the flow must have logged something for this test to mean anything");

        var text = string.Join("\n---\n", _h.Logs.Entries.Select(e => e.AllText()));

        codes.Should().AllSatisfy(code => text.Should().NotContain(code));
    }

    private sealed class DownStore : IPendingRegistrationStore
    {
        public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();

        public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default) => throw new OtpStoreUnavailableException();
    }
}
