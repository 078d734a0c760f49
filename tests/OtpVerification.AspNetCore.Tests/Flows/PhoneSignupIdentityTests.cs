using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>CONTRACT.md, signup with <c>channel: "sms"</c> and no email: the account is keyed by the E.164 phone.</summary>
public sealed class PhoneSignupIdentityTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Verify_PhoneOnlySignup_CreatesUserNamedByThePhoneWithoutEmail()
    {
        var phone = FlowsApi.UniquePhone();

        await app.SignUpByPhoneAsync(_client, phone);

        await using var scope = app.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>().FindByNameAsync(phone);
        user.Should().NotBeNull();
        user!.Email.Should().BeNull();
        user.PhoneNumber.Should().Be(phone);
        user.PhoneNumberConfirmed.Should().BeTrue();
    }

    [Fact]
    public async Task Verify_PhoneOnlySignup_AnswersTokensAndThePhone()
    {
        var phone = FlowsApi.UniquePhone();
        var flowId = await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = "+1 " + phone[2..], ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();

        var response = await _client.PostBodyAsync("/signup/verify", new() { ["phone"] = phone, ["code"] = await app.ReadCodeAsync(phone), ["flowId"] = flowId });

        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        json.GetProperty("phone").GetString().Should().Be(phone);
        json.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
    }

    [Fact]
    public async Task Resend_ByPhone_SendsTheCodeAgain()
    {
        var phone = FlowsApi.UniquePhone();
        await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();
        app.Clock.Advance(TimeSpan.FromSeconds(61));

        await (await _client.PostBodyAsync("/signup/resend", new() { ["phone"] = phone })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(phone)).Should().HaveCount(2);
    }

    [Fact]
    public async Task Verify_WrongCodeByPhone_Returns400InvalidCodeWithAttempts()
    {
        var phone = FlowsApi.UniquePhone();
        var flowId = await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();
        var code = await app.ReadCodeAsync(phone);

        var left = await (await _client.PostBodyAsync("/signup/verify", new() { ["phone"] = phone, ["code"] = TestData.WrongCode(code), ["flowId"] = flowId })).ShouldBeInvalidCodeAsync();

        left.Should().Be(4);
    }

    [Fact]
    public async Task Verify_RegisteredPhoneRightCode_Returns409EmailTaken()
    {
        var phone = FlowsApi.UniquePhone();
        await app.SignUpByPhoneAsync(_client, phone);
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        var start = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Eve" });
        var flowId = await start.FlowIdAsync();

        var response = await _client.PostBodyAsync("/signup/verify", new() { ["phone"] = phone, ["code"] = await app.ReadCodeAsync(phone), ["flowId"] = flowId });

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task Start_EmailChannelWithoutEmail_Returns400ValidationOnEmail()
    {
        var response = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = FlowsApi.UniquePhone(), ["password"] = TestData.Password, ["name"] = "Ana" });

        await response.ShouldBeValidationProblemAsync("email");
    }

    [Fact]
    public async Task Verify_EmailAndPhoneBoth_TheEmailNamesTheFlow()
    {
        // A signup with both is keyed by its email: verify with the whole form still finds it.
        var email = TestData.Email("both");
        var phone = FlowsApi.UniquePhone();
        var flowId = await (await _client.PostBodyAsync("/signup/start", new() { ["email"] = email, ["phone"] = phone, ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();

        var response = await _client.PostBodyAsync("/signup/verify", new() { ["phone"] = phone, ["email"] = email, ["code"] = await app.ReadCodeAsync(email), ["flowId"] = flowId });

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Verify_NeitherEmailNorPhone_Returns400ValidationOnEmail()
    {
        var response = await _client.PostBodyAsync("/signup/verify", new() { ["code"] = "123456", ["flowId"] = "x" });

        await response.ShouldBeValidationProblemAsync("email");
    }
}

/// <summary>With <c>RevealExistingAccounts=true</c> a registered phone is refused at start, as a registered email is.</summary>
public sealed class PhoneSignupRevealTests(RevealingSampleAppFactory app) : IClassFixture<RevealingSampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_RegisteredPhone_Returns409EmailTaken()
    {
        var phone = FlowsApi.UniquePhone();
        await app.SignUpByPhoneAsync(_client, phone);
        app.Clock.Advance(TimeSpan.FromSeconds(61));

        var response = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Eve" });

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task PhoneVerificationStart_RegisteredPhone_Returns409EmailTaken()
    {
        var phone = FlowsApi.UniquePhone();
        await app.SignUpByPhoneAsync(_client, phone);

        var response = await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = "dev-1" });

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }
}
