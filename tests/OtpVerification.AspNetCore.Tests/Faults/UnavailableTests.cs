using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Faults;

/// <summary>503 <c>unavailable</c> when the pending-registration store is down.</summary>
public sealed class StoreDownTests(StoreDownSampleAppFactory app) : IClassFixture<StoreDownSampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_StoreDown_Returns503Unavailable()
    {
        var response = await _client.StartSignupAsync(TestData.Email("down-start"));

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task Start_StoreDownForRegisteredEmail_Returns503Unavailable()
    {
        var email = TestData.Email("down-start-registered");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.StartSignupAsync(email);

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task Resend_StoreDown_Returns503Unavailable()
    {
        var response = await _client.ResendSignupAsync(TestData.Email("down-resend"));

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task Verify_StoreDown_Returns503Unavailable()
    {
        var response = await _client.VerifySignupAsync(TestData.Email("down-verify"), "123456");

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task PasswordResetStart_StoreDown_Returns503Unavailable()
    {
        var email = TestData.Email("down-reset-start");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.StartPasswordResetAsync(email);

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task PasswordResetComplete_StoreDown_Returns503Unavailable()
    {
        var response = await _client.CompletePasswordResetAsync(TestData.Email("down-reset-complete"), "123456", TestData.NewPassword);

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }
}

/// <summary>503 <c>unavailable</c> when every sender is down, with nothing left half-written.</summary>
public sealed class SendersDownTests(SwitchableSendersSampleAppFactory app) : IClassFixture<SwitchableSendersSampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_AllSendersDown_Returns503Unavailable()
    {
        SetDown(email: true, sms: true);

        var response = await _client.StartSignupAsync(TestData.Email("senders-down"), phone: "+14155550123");

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task Start_AllSendersDown_LeavesNoPendingRegistration()
    {
        SetDown(email: true, sms: true);
        var email = TestData.Email("senders-down-nopending");
        await (await _client.StartSignupAsync(email)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");

        // No flow was answered; the most a client can offer is a flow id that was never issued.
        var verify = await _client.VerifySignupAsync(email, "123456");

        await verify.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Start_AllSendersDown_DoesNotUseUpTheCooldown()
    {
        SetDown(email: true, sms: true);
        var email = TestData.Email("senders-down-retry");
        await (await _client.StartSignupAsync(email)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        SetDown(email: false, sms: false);

        var retry = await _client.StartSignupAsync(email);

        await retry.ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task Resend_AllSendersDown_Returns503Unavailable()
    {
        var email = await StartWhileSendersUpAsync("senders-down-resend");
        SetDown(email: true, sms: true);

        var response = await _client.ResendSignupAsync(email);

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
    }

    [Fact]
    public async Task Resend_AllSendersDown_KeepsThePendingRegistration()
    {
        var email = await StartWhileSendersUpAsync("senders-down-resend-keeps");
        SetDown(email: true, sms: true);
        await (await _client.ResendSignupAsync(email)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");

        // attemptsRemaining is only given while a pending registration exists.
        var verify = await _client.VerifySignupAsync(email, "000000");

        (await verify.ShouldBeInvalidCodeAsync()).Should().NotBeNull();
    }

    [Fact]
    public async Task Resend_AllSendersDownThenRecovered_RetryIsNotRefusedAndItsCodeVerifies()
    {
        var email = await StartWhileSendersUpAsync("senders-down-resend-retry");
        SetDown(email: true, sms: true);
        await (await _client.ResendSignupAsync(email)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        SetDown(email: false, sms: false);
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();

        var verify = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        verify.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task PasswordResetStart_AllSendersDown_AnswersLikeAnUnknownAddress()
    {
        // Hole 2: a sender outage answered 503 for a registered address and 202 for an unknown one.
        SetDown(email: true, sms: true);
        var email = TestData.Email("senders-down-reset");
        await app.CreateUserAsync(email, TestData.Password);

        var registered = await _client.StartPasswordResetAsync(email);
        var unknown = await _client.StartPasswordResetAsync(TestData.Email("senders-down-reset-unknown"));

        await registered.ShouldBeAcceptedAsync();
        await unknown.ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task Start_SmsSenderDown_FallsBackToEmail()
    {
        SetDown(email: false, sms: true);
        var email = TestData.Email("sms-down-fallback");

        await (await _client.StartSignupAsync(email, phone: "+14155550123", channel: "sms")).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().ContainSingle().Which.Channel.Should().Be("email");
    }

    [Fact]
    public async Task Start_EmailSenderDown_FallsBackToSmsAndTheSmsCodeVerifies()
    {
        // The seed's flow: the email provider fails, the code goes to the phone on the form instead.
        SetDown(email: true, sms: false);
        var email = TestData.Email("email-down-fallback");
        var phone = "+1415555" + Random.Shared.Next(1000, 10000).ToString(System.Globalization.CultureInfo.InvariantCulture);

        await (await _client.StartSignupAsync(email, phone: phone)).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
        (await app.ReadOutboxAsync(phone)).Should().ContainSingle().Which.Channel.Should().Be("sms");
        var verify = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(phone));
        verify.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
    }

    private async Task<string> StartWhileSendersUpAsync(string tag)
    {
        SetDown(email: false, sms: false);
        var email = TestData.Email(tag);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        return email;
    }

    private void SetDown(bool email, bool sms)
    {
        app.Senders.EmailDown = email;
        app.Senders.SmsDown = sms;
    }
}
