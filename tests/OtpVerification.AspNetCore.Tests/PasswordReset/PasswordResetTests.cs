using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.PasswordReset;

/// <summary><c>POST /password-reset/start</c> and <c>/complete</c>, and <c>/login</c> after them.</summary>
public sealed class PasswordResetTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const string Purpose = "password_reset";
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_RegisteredEmail_Returns202()
    {
        var email = await RegisteredAsync("reset-start");

        var response = await _client.StartPasswordResetAsync(email);

        await response.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
    }

    [Fact]
    public async Task Start_RegisteredEmail_SendsResetCode()
    {
        var email = await RegisteredAsync("reset-sends");

        await _client.StartPasswordResetAsync(email);

        (await app.ReadOutboxAsync(email)).Should().ContainSingle().Which.Purpose.Should().Be(Purpose);
    }

    [Fact]
    public async Task Start_UnknownEmail_Returns202WithTheSameBody()
    {
        var registered = await _client.StartPasswordResetAsync(await RegisteredAsync("reset-known"));
        var unknown = await _client.StartPasswordResetAsync(TestData.Email("reset-unknown"));

        await unknown.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
        await registered.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
    }

    [Fact]
    public async Task Start_UnknownEmail_SendsNothing()
    {
        var email = TestData.Email("reset-unknown-nosend");

        await _client.StartPasswordResetAsync(email);

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Start_AgainWithinCooldown_Returns429TooFrequentWhetherRegisteredOrNot(bool registered)
    {
        var email = registered ? await RegisteredAsync("reset-cooldown") : TestData.Email("reset-cooldown-unknown");
        await (await _client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();

        var again = await _client.StartPasswordResetAsync(email);

        (await again.ShouldBeTooManyRequestsAsync("too_frequent")).Should().Be(60);
    }

    [Fact]
    public async Task Start_BadEmail_Returns400ValidationOnEmail()
    {
        var response = await _client.StartPasswordResetAsync("not-an-email");

        await response.ShouldBeValidationProblemAsync("email");
    }

    [Fact]
    public async Task Complete_RightCode_Returns204()
    {
        var email = await RegisteredAsync("reset-complete");
        var code = await StartAsync(email);

        var response = await _client.CompletePasswordResetAsync(email, code, TestData.NewPassword);

        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Complete_RightCode_OldPasswordNoLongerSignsIn()
    {
        var email = await RegisteredAsync("reset-old");
        (await _client.CompletePasswordResetAsync(email, await StartAsync(email), TestData.NewPassword)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        var login = await _client.LoginAsync(email, TestData.Password);

        await login.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task Complete_RightCode_NewPasswordSignsIn()
    {
        var email = await RegisteredAsync("reset-new");
        (await _client.CompletePasswordResetAsync(email, await StartAsync(email), TestData.NewPassword)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        var login = await _client.LoginAsync(email, TestData.NewPassword);

        var tokens = await login.ShouldHaveJsonAsync(HttpStatusCode.OK);
        tokens.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Complete_CodeUsedTwice_SecondReturns400FlowExpired()
    {
        var email = await RegisteredAsync("reset-twice");
        var code = await StartAsync(email);
        (await _client.CompletePasswordResetAsync(email, code, TestData.NewPassword)).StatusCode.Should().Be(HttpStatusCode.NoContent);

        var again = await _client.CompletePasswordResetAsync(email, code, "An0ther-Passw0rd!");

        await again.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Complete_WeakNewPassword_Returns400ValidationOnNewPassword()
    {
        var email = await RegisteredAsync("reset-weak");
        var code = await StartAsync(email);

        var response = await _client.CompletePasswordResetAsync(email, code, TestData.WeakPassword);

        await response.ShouldBeValidationProblemAsync("newPassword");
    }

    [Fact]
    public async Task Complete_WeakNewPassword_DoesNotBurnTheCode()
    {
        var email = await RegisteredAsync("reset-weak-retry");
        var code = await StartAsync(email);
        await (await _client.CompletePasswordResetAsync(email, code, TestData.WeakPassword)).ShouldBeValidationProblemAsync("newPassword");

        var response = await _client.CompletePasswordResetAsync(email, code, TestData.NewPassword);

        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Complete_WrongCode_Returns400InvalidCodeWithAttemptsRemaining()
    {
        var email = await RegisteredAsync("reset-wrong");
        var code = await StartAsync(email);

        var response = await _client.CompletePasswordResetAsync(email, TestData.WrongCode(code), TestData.NewPassword);

        (await response.ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Complete_AfterCodeLifetime_Returns400CodeExpired()
    {
        var email = await RegisteredAsync("reset-expired");
        var code = await StartAsync(email);
        app.Clock.Advance(TimeSpan.FromMinutes(11));

        var response = await _client.CompletePasswordResetAsync(email, code, TestData.NewPassword);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "code_expired");
    }

    [Fact]
    public async Task Complete_UnknownEmailWithoutAStart_Returns400FlowExpired()
    {
        var response = await _client.CompletePasswordResetAsync(TestData.Email("reset-nobody"), "123456", TestData.NewPassword);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Complete_UnknownEmailAfterAStart_AnswersLikeARegisteredOne()
    {
        // Hole 2: an unknown address gets a decoy, so a wrong code counts down the same attempts.
        var unknown = TestData.Email("reset-decoy");
        await (await _client.StartPasswordResetAsync(unknown)).ShouldBeAcceptedAsync();
        var registered = await RegisteredAsync("reset-real");
        var code = await StartAsync(registered);

        var decoy = await _client.CompletePasswordResetAsync(unknown, "123456", TestData.NewPassword);
        var real = await _client.CompletePasswordResetAsync(registered, TestData.WrongCode(code), TestData.NewPassword);

        (await decoy.ShouldBeInvalidCodeAsync()).Should().Be(4);
        (await real.ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Complete_WithASignupCode_Returns400InvalidCode()
    {
        var email = TestData.Email("reset-crossing");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var signupCode = await app.ReadCodeAsync(email, "signup");
        await (await _client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.CompletePasswordResetAsync(email, signupCode, TestData.NewPassword);

        await response.ShouldBeInvalidCodeAsync();
    }

    [Fact]
    public async Task Complete_WithASignupCode_LeavesTheSignupCodeUsable()
    {
        var email = TestData.Email("reset-crossing-intact");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var signupCode = await app.ReadCodeAsync(email, "signup");
        await (await _client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();
        await (await _client.CompletePasswordResetAsync(email, signupCode, TestData.NewPassword)).ShouldBeInvalidCodeAsync();

        var verify = await _client.VerifySignupAsync(email, signupCode);

        verify.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Verify_WithAPasswordResetCode_Returns400InvalidCode()
    {
        var email = await RegisteredAsync("reset-crossing-back");
        var resetCode = await StartAsync(email);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, resetCode);

        await response.ShouldBeInvalidCodeAsync();
    }

    private async Task<string> RegisteredAsync(string tag)
    {
        var email = TestData.Email(tag);
        await app.CreateUserAsync(email, TestData.Password);
        return email;
    }

    private async Task<string> StartAsync(string email)
    {
        await (await _client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();
        return await app.ReadCodeAsync(email, Purpose);
    }
}
