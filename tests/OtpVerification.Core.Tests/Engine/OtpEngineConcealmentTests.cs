using OtpVerification.Senders;
using static OtpVerification.Core.Tests.Engine.EngineHarness;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>Password reset and sign-in answer alike for registered and unknown addresses, also while every sender is down.</summary>
public sealed class OtpEngineConcealmentTests : IDisposable
{
    private const string Unknown = "unknown@example.com";
    private static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);

    private readonly EngineHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static OtpStartRequest Start(string address, OtpPurpose purpose, bool decoy) => new()
    {
        Purpose = purpose,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        Decoy = decoy,
    };

    private async Task<(string Real, string Decoy)> StartBothWithSendersDownAsync(OtpPurpose purpose)
    {
        var decoy = await _h.Engine.StartAsync(Start(Unknown, purpose, decoy: true));
        _h.Email.FailWith();
        var real = await _h.Engine.StartAsync(Start(Address, purpose, decoy: false));
        return (real.FlowId!, decoy.FlowId!);
    }

    [Theory]
    [InlineData(OtpPurpose.PasswordReset)]
    [InlineData(OtpPurpose.SignIn)]
    public async Task VerifyAsync_AfterAStartWithEverySenderDown_AnswersLikeADecoy(OtpPurpose purpose)
    {
        var (real, decoy) = await StartBothWithSendersDownAsync(purpose);

        var answers = new[]
        {
            await _h.Engine.VerifyAsync(purpose, Address, real, "123456", null),
            await _h.Engine.VerifyAsync(purpose, Unknown, decoy, "123456", null),
        };

        answers[0].Should().Be(answers[1]);
    }

    [Fact]
    public async Task StartAsync_AgainAfterAStartWithEverySenderDown_AnswersLikeADecoy()
    {
        await StartBothWithSendersDownAsync(OtpPurpose.PasswordReset);
        _h.Time.Advance(TimeSpan.FromSeconds(10));

        var answers = new[]
        {
            (await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: false))) with { FlowId = null },
            (await _h.Engine.StartAsync(Start(Unknown, OtpPurpose.PasswordReset, decoy: true))) with { FlowId = null },
        };

        answers[0].Should().Be(answers[1]);
    }

    [Fact]
    public async Task ResendAsync_AgainAfterAResendWithEverySenderDown_AnswersLikeADecoy()
    {
        await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: false));
        await _h.Engine.StartAsync(Start(Unknown, OtpPurpose.PasswordReset, decoy: true));
        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);
        await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Unknown);

        var answers = new[]
        {
            await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address),
            await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Unknown),
        };

        answers[0].Should().Be(answers[1]);
    }

    [Fact]
    public async Task VerifyAsync_AfterWrongGuessesAndAResendWithEverySenderDown_AnswersLikeADecoy()
    {
        var real = (await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: false))).FlowId!;
        var decoy = (await _h.Engine.StartAsync(Start(Unknown, OtpPurpose.PasswordReset, decoy: true))).FlowId!;
        await _h.Engine.WhenDeliveredAsync();
        var wrong = WrongCode(_h.Email.LastCode);
        for (var i = 0; i < 3; i++)
        {
            await _h.Engine.VerifyAsync(OtpPurpose.PasswordReset, Address, real, wrong, null);
            await _h.Engine.VerifyAsync(OtpPurpose.PasswordReset, Unknown, decoy, wrong, null);
        }

        _h.Time.Advance(Cooldown);
        _h.Email.FailWith();
        await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);
        await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Unknown);

        var answers = new[]
        {
            await _h.Engine.VerifyAsync(OtpPurpose.PasswordReset, Address, real, wrong, null),
            await _h.Engine.VerifyAsync(OtpPurpose.PasswordReset, Unknown, decoy, wrong, null),
        };

        answers[0].Should().Be(answers[1]);
    }

    [Fact]
    public async Task ResendAsync_PasswordResetLoopDuringAnOutage_GuessesStayWithinMaxAttemptsTimesMaxPerHour()
    {
        var flow = (await _h.Engine.StartAsync(Start(Address, OtpPurpose.PasswordReset, decoy: false))).FlowId!;
        await _h.Engine.WhenDeliveredAsync();
        var wrong = WrongCode(_h.Email.LastCode);
        _h.Email.FailWith();
        var evaluated = 0;
        for (var minute = 0; minute < 60; minute++)
        {
            await _h.Engine.ResendAsync(OtpPurpose.PasswordReset, Address);
            for (var guess = 0; guess < 5; guess++)
            {
                if ((await _h.Engine.VerifyAsync(OtpPurpose.PasswordReset, Address, flow, wrong, null)).Outcome == OtpOutcome.InvalidCode)
                {
                    evaluated++;
                }
            }

            _h.Time.Advance(Cooldown);
        }

        evaluated.Should().BeLessThanOrEqualTo(5 * 5);
    }
}
