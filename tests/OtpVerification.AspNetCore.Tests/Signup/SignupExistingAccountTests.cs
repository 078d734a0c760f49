using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>Start for a registered email with <c>OtpSignup:RevealExistingAccounts=false</c> (the default): answered exactly as for a new one.</summary>
public sealed class SignupExistingAccountHiddenTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_RegisteredEmail_SameStatusAndBodyShapeAsNewEmail()
    {
        var registered = await RegisteredEmailAsync("hidden-same");

        var forRegistered = await _client.StartSignupAsync(registered);
        var forNew = await _client.StartSignupAsync(TestData.Email("hidden-new"));

        forRegistered.StatusCode.Should().Be(forNew.StatusCode).And.Be(HttpStatusCode.Accepted);
        forRegistered.Content.Headers.ContentType.Should().Be(forNew.Content.Headers.ContentType);
        await forRegistered.ShouldBeAcceptedAsync();
        await forNew.ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task Start_RegisteredEmail_SendsARealCodeThatOnlyItsOwnerReads()
    {
        var registered = await RegisteredEmailAsync("hidden-sends");

        await (await _client.StartSignupAsync(registered)).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(registered)).Should().ContainSingle().Which.Purpose.Should().Be("signup");
    }

    [Fact]
    public async Task Verify_RegisteredEmailWrongCode_AnswersLikeANewEmail()
    {
        // Hole 2: a start for a registered address stored nothing, so a wrong code answered invalid_code without attemptsRemaining.
        var registered = await RegisteredEmailAsync("hidden-wrong");
        var fresh = TestData.Email("hidden-wrong-new");
        await (await _client.StartSignupAsync(registered)).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(fresh)).ShouldBeAcceptedAsync();

        var forRegistered = await _client.VerifySignupAsync(registered, TestData.WrongCode(await app.ReadCodeAsync(registered)));
        var forNew = await _client.VerifySignupAsync(fresh, TestData.WrongCode(await app.ReadCodeAsync(fresh)));

        (await forRegistered.ShouldBeInvalidCodeAsync()).Should().Be(4);
        (await forNew.ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Verify_RegisteredEmailForeignDevice_AnswersLikeANewEmail()
    {
        var registered = await RegisteredEmailAsync("hidden-device");
        var fresh = TestData.Email("hidden-device-new");
        await (await _client.StartSignupAsync(registered, deviceId: "device-a")).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(fresh, deviceId: "device-a")).ShouldBeAcceptedAsync();

        var forRegistered = await _client.VerifySignupAsync(registered, "123456", deviceId: "device-b");
        var forNew = await _client.VerifySignupAsync(fresh, "123456", deviceId: "device-b");

        await forRegistered.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "device_mismatch");
        await forNew.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "device_mismatch");
    }

    [Fact]
    public async Task Verify_RegisteredEmailRightCode_Returns409EmailTakenToTheOwnerOnly()
    {
        var registered = await RegisteredEmailAsync("hidden-owner");
        await (await _client.StartSignupAsync(registered, TestData.NewPassword)).ShouldBeAcceptedAsync();

        var verify = await _client.VerifySignupAsync(registered, await app.ReadCodeAsync(registered));

        await verify.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
        (await app.CountUsersAsync(registered)).Should().Be(1);
        (await _client.LoginAsync(registered, TestData.Password)).StatusCode.Should().Be(HttpStatusCode.OK, "the account keeps its password");
    }

    [Fact]
    public async Task Start_RegisteredEmail_LeavesTheAccountAlone()
    {
        var registered = await RegisteredEmailAsync("hidden-untouched");

        await (await _client.StartSignupAsync(registered, TestData.NewPassword)).ShouldBeAcceptedAsync();

        (await app.CountUsersAsync(registered)).Should().Be(1);
        (await _client.LoginAsync(registered, TestData.Password)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Start_AgainWithinCooldown_Returns429TooFrequentWhetherRegisteredOrNot(bool registered)
    {
        var email = registered ? await RegisteredEmailAsync("hidden-cooldown") : TestData.Email("new-cooldown");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var again = await _client.StartSignupAsync(email);

        (await again.ShouldBeTooManyRequestsAsync("too_frequent")).Should().Be(60);
    }

    private async Task<string> RegisteredEmailAsync(string tag)
    {
        var email = TestData.Email(tag);
        await app.CreateUserAsync(email, TestData.Password);
        return email;
    }
}

/// <summary>Start for a registered email with <c>OtpSignup:RevealExistingAccounts=true</c>: 409.</summary>
public sealed class SignupExistingAccountRevealedTests(RevealingSampleAppFactory app) : IClassFixture<RevealingSampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_RegisteredEmail_Returns409EmailTaken()
    {
        var email = TestData.Email("reveal-taken");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.StartSignupAsync(email);

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task Start_RegisteredEmailInOtherCase_Returns409EmailTaken()
    {
        var email = TestData.Email("reveal-case");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.StartSignupAsync(email.ToUpperInvariant());

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task Start_RegisteredEmail_SendsNoMessage()
    {
        var email = TestData.Email("reveal-nosend");
        await app.CreateUserAsync(email, TestData.Password);

        await _client.StartSignupAsync(email);

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Start_NewEmail_Returns202()
    {
        var response = await _client.StartSignupAsync(TestData.Email("reveal-new"));

        await response.ShouldBeAcceptedAsync();
    }
}
