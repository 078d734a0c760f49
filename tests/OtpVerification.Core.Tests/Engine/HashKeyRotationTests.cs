using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>Issue 19: a rotated <c>OtpSignup:Code:HashKey</c> keeps codes in flight working, through the engine, in one store call.</summary>
public sealed class HashKeyRotationTests
{
    private static readonly string OldKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string NewKey = Convert.ToBase64String(Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public async Task Verify_AfterARotation_ACodeIssuedUnderThePreviousKeyStillWorks()
    {
        var store = new InMemoryPendingRegistrationStore(1000);
        using var before = Harness(store, o => o.Code.HashKey = OldKey);
        var started = await before.StartAsync();
        var code = before.Email.LastCode;

        using var after = Harness(store, Rotated(keepPrevious: true));

        (await after.Engine.VerifyAsync(OtpPurpose.Signup, EngineHarness.Address, started.FlowId!, code, null)).Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task Verify_AfterThePreviousKeyIsDropped_ACodeIssuedUnderItNoLongerWorks()
    {
        var store = new InMemoryPendingRegistrationStore(1000);
        using var before = Harness(store, o => o.Code.HashKey = OldKey);
        var started = await before.StartAsync();
        var code = before.Email.LastCode;

        using var after = Harness(store, Rotated(keepPrevious: false));

        var result = await after.Engine.VerifyAsync(OtpPurpose.Signup, EngineHarness.Address, started.FlowId!, code, null);

        result.Outcome.Should().Be(OtpOutcome.InvalidCode);
        result.AttemptsRemaining.Should().Be(4, "one store call, one attempt counted");
    }

    [Fact]
    public async Task Verify_AfterARotation_ANewCodeUsesTheNewKey()
    {
        var store = new InMemoryPendingRegistrationStore(1000);
        using var after = Harness(store, Rotated(keepPrevious: true));
        var started = await after.StartAsync();

        (await after.Engine.VerifyAsync(OtpPurpose.Signup, EngineHarness.Address, started.FlowId!, after.Email.LastCode, null)).Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task SameCodeResend_AfterARotation_SendsTheSameCode()
    {
        var store = new InMemoryPendingRegistrationStore(1000);
        using var before = Harness(store, o => o.Code.HashKey = OldKey);
        await before.StartAsync();
        var code = before.Email.LastCode;
        using var after = Harness(store, Rotated(keepPrevious: true));
        after.Time.Advance(TimeSpan.FromMinutes(2));

        (await after.ResendAsync()).Outcome.Should().Be(OtpOutcome.Accepted);

        after.Email.LastCode.Should().Be(code);
    }

    [Fact]
    public async Task SameCodeResend_WhenTheKeptCodeCannotBeRead_SendsANewCodeThatWorks()
    {
        var store = new InMemoryPendingRegistrationStore(1000);
        using var before = Harness(store, o => o.Code.HashKey = OldKey);
        var started = await before.StartAsync();
        var code = before.Email.LastCode;
        using var after = Harness(store, Rotated(keepPrevious: false));
        after.Time.Advance(TimeSpan.FromMinutes(2));

        (await after.ResendAsync()).Outcome.Should().Be(OtpOutcome.Accepted);

        var resent = after.Email.LastCode;
        after.Email.Messages[^1].IsRepeat.Should().BeFalse();
        (await after.Engine.VerifyAsync(OtpPurpose.Signup, EngineHarness.Address, started.FlowId!, resent, null)).Outcome.Should().Be(OtpOutcome.Verified);
    }

    /// <summary>The options after a rotation: the new key current, the old one still naming entries, and still verifying while <paramref name="keepPrevious"/>.</summary>
    private static Action<OtpVerificationOptions> Rotated(bool keepPrevious) => o =>
    {
        o.Code.HashKey = NewKey;
        o.Code.PreviousHashKey = keepPrevious ? OldKey : null;
        o.Code.KeyNameKey = OldKey;
    };

    private static EngineHarness Harness(InMemoryPendingRegistrationStore store, Action<OtpVerificationOptions> configure)
        => new(configure, services => services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(store)));
}
