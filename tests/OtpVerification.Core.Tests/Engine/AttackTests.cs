using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Senders;
using static OtpVerification.Core.Tests.Engine.EngineHarness;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>
/// The attack review's engine-level findings: what the HTTP tests in
/// <c>OtpVerification.AspNetCore.Tests/Security/AttackTests.cs</c> show, at the seam that causes it.
/// </summary>
public sealed class AttackTests : IDisposable
{
    private readonly EngineHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData(OtpPurpose.Signup)]
    [InlineData(OtpPurpose.PasswordReset)]
    public async Task VerifyAsync_AtAnotherAddressThanTheCodeWentTo_IsNotVerified(OtpPurpose purpose)
    {
        // "ana+mallory@example.com" is Mallory's mailbox on a domain without sub-addressing; the
        // entry is keyed by the canonical mailbox "ana@example.com", which is Ana's.
        const string mallorys = "ana+mallory@example.com";
        var started = await _h.Engine.StartAsync(new OtpStartRequest
        {
            Purpose = purpose,
            Address = mallorys,
            Destinations = [new OtpDestination(OtpChannel.Email, mallorys)],
            Payload = [1],
        });
        await _h.Engine.WhenDeliveredAsync();
        var code = _h.Email.Messages.Single(m => m.To == mallorys).Code;

        var result = await _h.Engine.VerifyAsync(purpose, Address, started.FlowId!, code, deviceId: null);

        result.Outcome.Should().NotBe(OtpOutcome.Verified, "the caller then completes for {0}, an address that never received the code", Address);
    }

    [Theory]
    [InlineData(OtpResendStrategy.SameCode)]
    [InlineData(OtpResendStrategy.NewCode)]
    public async Task VerifyAsync_WhileFailedResendsAreInFlight_EvaluatesAtMostMaxAttemptsTimesMaxPerHourGuesses(OtpResendStrategy strategy)
    {
        // A resend whose message hangs in a failing relay holds a code; the failure used to give
        // its send slot back (and put back the previous code with its attempts), so the next
        // resend could go at once with fresh guesses.
        var relay = new HangingRelay();
        using var h = new EngineHarness(o => o.Resend.Strategy = strategy, s => s.AddSingleton<IOtpSender>(relay));
        await h.StartAsync();
        relay.Hang = true;

        var evaluated = 0;
        for (var round = 0; round < 8; round++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(61));
            var resend = h.ResendAsync().AsTask();
            if (await Task.WhenAny(relay.Held.Task, resend).WaitAsync(TimeSpan.FromSeconds(30)) == resend)
            {
                (await resend).Outcome.Should().BeOneOf(OtpOutcome.TooFrequent, OtpOutcome.RateLimited);
                continue;
            }

            var code = await relay.Held.Task;
            for (var guess = 1; guess <= 5; guess++)
            {
                if ((await h.VerifyAsync(WrongCode(code, guess))).Outcome == OtpOutcome.InvalidCode)
                {
                    evaluated++;
                }
            }

            relay.Fail();
            (await resend.WaitAsync(TimeSpan.FromSeconds(30))).Outcome.Should().Be(OtpOutcome.Unavailable);
        }

        evaluated.Should().BeLessThanOrEqualTo(5 * 5, "MaxAttempts x MaxPerHour per address per hour, also while a sender is down");
    }

    /// <summary>An email sender that delivers at once until <see cref="Hang"/>; then each message hangs until <see cref="Fail"/>.</summary>
    private sealed class HangingRelay : IOtpSender
    {
        private TaskCompletionSource _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OtpChannel Channel => OtpChannel.Email;

        public bool Hang { get; set; }

        public TaskCompletionSource<string> Held { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail()
        {
            Held = new(TaskCreationOptions.RunContinuationsAsynchronously);
            var fail = _fail;
            _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);
            fail.SetResult();
        }

        public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        {
            if (!Hang)
            {
                return;
            }

            var fail = _fail.Task;
            Held.TrySetResult(message.Code);
            await fail.ConfigureAwait(false);
            throw new OtpDeliveryException("The relay timed out.");
        }
    }
}
