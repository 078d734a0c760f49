using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary><c>POST /signup/verify</c>: the rows of its table in CONTRACT.md, and <c>GET /api/me</c> after it.</summary>
public sealed class SignupVerifyTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Verify_RightCode_Returns200WithUserIdEmailAndBearerTokens()
    {
        var email = TestData.Email("verify-ok");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, code);

        var body = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("userId").GetString().Should().NotBeNullOrEmpty();
        body.GetProperty("email").GetString().Should().Be(email);
        body.GetProperty("tokenType").GetString().Should().Be("Bearer");
        body.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
        body.GetProperty("expiresIn").GetInt64().Should().BePositive();
        body.GetProperty("refreshToken").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Verify_RightCode_AccessTokenAuthenticatesApiMe()
    {
        var email = TestData.Email("verify-bearer");
        using var client = app.CreateClient(new() { HandleCookies = false });
        var verified = await app.SignUpAsync(client, email);

        var me = await client.GetMeAsync(verified.GetProperty("accessToken").GetString());

        var body = await me.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("email").GetString().Should().Be(email);
        body.GetProperty("emailVerified").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Verify_RightCode_CreatesExactlyOneUser()
    {
        var email = TestData.Email("verify-row");

        await app.SignUpAsync(_client, email);

        (await app.CountUsersAsync(email)).Should().Be(1);
    }

    [Fact]
    public async Task Verify_UseCookies_SetsHttpOnlyAuthCookieInsteadOfTokens()
    {
        var email = TestData.Email("verify-cookie");
        using var client = app.CreateClient();
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await client.VerifySignupAsync(email, code, useCookies: true);

        var body = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("email").GetString().Should().Be(email);
        body.GetProperty("userId").GetString().Should().NotBeNullOrEmpty();
        body.TryGetProperty("accessToken", out _).Should().BeFalse();
        body.TryGetProperty("refreshToken", out _).Should().BeFalse();
        response.Headers.TryGetValues("Set-Cookie", out var cookies).Should().BeTrue();
        cookies.Should().ContainSingle().Which.Should().ContainEquivalentOf("httponly");
    }

    [Fact]
    public async Task Verify_UseCookies_CookieAuthenticatesApiMe()
    {
        var email = TestData.Email("verify-cookie-me");
        using var client = app.CreateClient();
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        (await client.VerifySignupAsync(email, code, useCookies: true)).StatusCode.Should().Be(HttpStatusCode.OK);

        var me = await client.GetMeAsync();

        var body = await me.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("email").GetString().Should().Be(email);
        body.GetProperty("emailVerified").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Verify_EmailInOtherCase_Returns200()
    {
        var email = TestData.Email("verify-case");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(" " + email.ToUpperInvariant(), code);

        (await response.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("email").GetString().Should().Be(email);
    }

    [Fact]
    public async Task Verify_WrongCode_Returns400InvalidCodeWithAttemptsRemaining()
    {
        var email = TestData.Email("verify-wrong");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, TestData.WrongCode(code));

        (await response.ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Verify_NoPendingRegistration_Returns400FlowExpired()
    {
        var response = await _client.VerifySignupAsync(TestData.Email("verify-none"), "123456", flowId: "AAAAAAAAAAAAAAAAAAAAAA");

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Verify_WithoutFlowId_Returns400ValidationOnFlowId()
    {
        var email = TestData.Email("verify-noflow");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.PostJsonAsync("/signup/verify", new { email, code = await app.ReadCodeAsync(email) });

        await response.ShouldBeValidationProblemAsync("flowId");
    }

    [Fact]
    public async Task Verify_CodeUsedTwice_SecondReturns400FlowExpired()
    {
        var email = TestData.Email("verify-twice");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        (await _client.VerifySignupAsync(email, code)).StatusCode.Should().Be(HttpStatusCode.OK);

        var again = await _client.VerifySignupAsync(email, code);

        await again.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Verify_AfterCodeLifetime_Returns400CodeExpired()
    {
        var email = TestData.Email("verify-expired");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        app.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var response = await _client.VerifySignupAsync(email, code);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "code_expired");
    }

    [Fact]
    public async Task Verify_JustBeforeCodeLifetime_Returns200()
    {
        var email = TestData.Email("verify-in-time");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        app.Clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));

        var response = await _client.VerifySignupAsync(email, code);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Verify_WrongGuesses_CountDownAttemptsRemaining()
    {
        var email = TestData.Email("verify-countdown");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var remaining = new List<int?>();
        for (var i = 1; i <= 5; i++)
        {
            remaining.Add(await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, i))).ShouldBeInvalidCodeAsync());
        }

        remaining.Should().Equal(4, 3, 2, 1, 0);
    }

    [Fact]
    public async Task Verify_AfterMaxAttemptsWrongGuesses_RightCodeReturns400MaxAttempts()
    {
        var email = TestData.Email("verify-max");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        for (var i = 1; i <= 5; i++)
        {
            await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, i))).ShouldBeInvalidCodeAsync();
        }

        var response = await _client.VerifySignupAsync(email, code);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Theory]
    [InlineData("device-uuid-002")]
    [InlineData(null)]
    public async Task Verify_OtherDeviceThanStart_Returns400DeviceMismatch(string? deviceId)
    {
        var email = TestData.Email("verify-device");
        await (await _client.StartSignupAsync(email, deviceId: "device-uuid-001")).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, code, deviceId);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "device_mismatch");
    }

    [Fact]
    public async Task Verify_SameDeviceAsStart_Returns200()
    {
        var email = TestData.Email("verify-same-device");
        await (await _client.StartSignupAsync(email, deviceId: "device-uuid-001")).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, code, "device-uuid-001");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Verify_EmailRegisteredMeanwhile_Returns409EmailTaken()
    {
        var email = TestData.Email("verify-taken");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        await app.CreateUserAsync(email, TestData.NewPassword);

        var response = await _client.VerifySignupAsync(email, code);

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
        (await app.CountUsersAsync(email)).Should().Be(1);
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("1")]
    public async Task Verify_UseCookiesNotABoolean_Returns400ValidationOnUseCookies(string value)
    {
        var response = await _client.PostJsonAsync("/signup/verify?useCookies=" + value, new { email = TestData.Email("verify-flag"), code = "123456" });

        await response.ShouldBeValidationProblemAsync("useCookies");
    }

    [Theory]
    [InlineData(null, "123456")]
    [InlineData("not-an-email", "123456")]
    [InlineData("ana@example.com", "")]
    public async Task Verify_MissingOrBadFields_Returns400Validation(string? email, string code)
    {
        var response = await _client.PostJsonAsync("/signup/verify", new { email, code });

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }
}
