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
}
