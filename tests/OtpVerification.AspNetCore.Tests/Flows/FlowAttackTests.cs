using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>
/// Attacks on the flows of issue 15 that the flows' own tests did not cover: a phone's send
/// limit across the flows that text a code to any number, sign-in into accounts whose address
/// was never proven, and the answer of a phone signup that carried an unproven email.
/// </summary>
public sealed class FlowAttackTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const int MaxPerHour = 5;

    private readonly HttpClient _client = app.CreateClient();

    /// <summary>
    /// Phone verification and SMS signup both text a code to any number: together they must not
    /// send a phone more than <c>Resend:MaxPerHour</c> codes an hour (the per-phone limit), or the
    /// number gets twice the texts and a squatter twice the guesses at codes that open an account on it.
    /// </summary>
    [Fact]
    public async Task PhoneVerificationThenSmsSignup_SamePhone_NoMoreThanMaxPerHourTextsInTheHour()
    {
        var phone = FlowsApi.UniquePhone();
        for (var i = 0; i < MaxPerHour; i++)
        {
            await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack" });
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        for (var i = 0; i < MaxPerHour; i++)
        {
            await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" });
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        (await app.ReadOutboxAsync(phone)).Should().HaveCount(MaxPerHour);
    }

    /// <summary>The other order: SMS signups first, then phone verification.</summary>
    [Fact]
    public async Task SmsSignupThenPhoneVerification_SamePhone_SixthStartReturns429()
    {
        var phone = FlowsApi.UniquePhone();
        for (var i = 0; i < MaxPerHour; i++)
        {
            await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        var sixth = await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack" });

        sixth.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await app.ReadOutboxAsync(phone)).Should().HaveCount(MaxPerHour);
    }

    /// <summary>
    /// Account pre-hijacking: an account the host created for an email nobody proved (an attacker
    /// registered the victim's address elsewhere and knows its password) must not be opened by a
    /// code emailed to the victim: the victim would work in an account the attacker also holds.
    /// Such an address is answered like an unknown one: no code.
    /// </summary>
    [Fact]
    public async Task SignInStart_AccountWithUnconfirmedEmail_SendsNoCode()
    {
        var email = TestData.Email("signin-unconfirmed");
        await CreateUserAsync(new AppUser { UserName = email, Email = email, EmailConfirmed = false });

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    /// <summary>The same for an account named by a phone number that was never confirmed.</summary>
    [Fact]
    public async Task SignInStart_AccountWithUnconfirmedPhone_SendsNoCode()
    {
        var phone = FlowsApi.UniquePhone();
        await CreateUserAsync(new AppUser { UserName = phone, PhoneNumber = phone, PhoneNumberConfirmed = false });

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["phone"] = phone })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(phone)).Should().BeEmpty();
    }

    /// <summary>The account's email is confirmed at start but no longer at verify (changed meanwhile): no tokens.</summary>
    [Fact]
    public async Task SignInVerify_EmailUnconfirmedSinceStart_Returns400InvalidCodeAndNoTokens()
    {
        var email = TestData.Email("signin-unconfirmed-later");
        await CreateUserAsync(new AppUser { UserName = email, Email = email, EmailConfirmed = true });
        var flowId = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).FlowIdAsync();
        var code = await app.ReadCodeAsync(email, "sign_in");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = await users.FindByNameAsync(email);
            user!.EmailConfirmed = false;
            (await users.UpdateAsync(user)).Succeeded.Should().BeTrue();
        }

        var response = await _client.PostBodyAsync("/signin/code/verify", new() { ["email"] = email, ["code"] = code, ["flowId"] = flowId });

        await response.ShouldBeInvalidCodeAsync();
        (await response.Content.ReadAsStringAsync()).Should().NotContain("accessToken");
    }

    /// <summary>
    /// A phone signup (with a proof) that also carried someone's email: the email is not stored
    /// (nothing proved it), and the answer must not name it as the account's verified email either.
    /// </summary>
    [Fact]
    public async Task SignupWithProof_WithAnUnprovenEmail_AnswerNamesNoEmail()
    {
        var phone = FlowsApi.UniquePhone();
        var victim = TestData.Email("proof-victim");
        var proof = await app.ProvePhoneAsync(_client, phone, "dev-attack");

        var response = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack", ["phoneProof"] = proof, ["email"] = victim, ["password"] = TestData.Password, ["name"] = "Ana" });

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        body.Should().NotContain(victim);
        (await app.CountUsersAsync(victim)).Should().Be(0);
    }

    /// <summary>The same for an SMS signup that carried an email: the phone is proven, the email is not.</summary>
    [Fact]
    public async Task SmsSignupVerify_WithAnUnprovenEmail_AnswerNamesNoEmail()
    {
        var phone = FlowsApi.UniquePhone();
        var victim = TestData.Email("sms-victim");
        var flowId = await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["email"] = victim, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();

        var response = await _client.PostBodyAsync("/signup/verify", new() { ["email"] = victim, ["code"] = await app.ReadCodeAsync(phone), ["flowId"] = flowId });

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        body.Should().NotContain(victim);
        (await app.CountUsersAsync(victim)).Should().Be(0);
    }

    private async Task CreateUserAsync(AppUser user)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>().CreateAsync(user, TestData.Password);
        result.Succeeded.Should().BeTrue(string.Join(", ", result.Errors.Select(e => e.Code)));
    }
}
