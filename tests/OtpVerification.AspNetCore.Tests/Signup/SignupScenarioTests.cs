using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>Whole signup journeys, as a user goes through them.</summary>
public sealed class SignupScenarioTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private static readonly TimeSpan PastCooldown = TimeSpan.FromSeconds(61);
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Signup_StartVerifyThenMe_ReturnsTheVerifiedProfile()
    {
        var email = TestData.Email("journey");
        await (await _client.StartSignupAsync("  " + email.ToUpperInvariant(), name: "Ana Lima")).ShouldBeAcceptedAsync();
        var verified = await (await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email))).ShouldHaveJsonAsync(HttpStatusCode.OK);

        var me = await _client.GetMeAsync(verified.GetProperty("accessToken").GetString());

        var body = await me.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("email").GetString().Should().Be(email);
        body.GetProperty("emailVerified").GetBoolean().Should().BeTrue();
        body.GetProperty("name").GetString().Should().Be("Ana Lima");
    }

    [Fact]
    public async Task Signup_AfterVerify_PasswordFromStartSignsIn()
    {
        var email = TestData.Email("journey-login");
        await app.SignUpAsync(_client, email, TestData.Password);

        var login = await _client.LoginAsync(email, TestData.Password);

        (await login.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Signup_WrongCodeThenRightCode_Returns200()
    {
        var email = TestData.Email("journey-typo");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        await (await _client.VerifySignupAsync(email, TestData.WrongCode(code))).ShouldBeInvalidCodeAsync();

        var response = await _client.VerifySignupAsync(email, code);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Signup_ExpiredCodeThenResend_NewCodeVerifies()
    {
        var email = TestData.Email("journey-expired");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        app.Clock.Advance(TimeSpan.FromMinutes(11));
        await (await _client.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "code_expired");
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Signup_AbandonedThenRestartedAfterCooldown_NewCodeVerifies()
    {
        var email = TestData.Email("journey-restart-new");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        app.Clock.Advance(PastCooldown);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Signup_AbandonedThenRestartedAfterCooldown_OldCodeFails()
    {
        var email = TestData.Email("journey-restart-old");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var oldCode = await app.ReadCodeAsync(email);
        string newCode;
        do
        {
            // A new code equals the old one once in a million; restart again then.
            app.Clock.Advance(PastCooldown);
            await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            newCode = await app.ReadCodeAsync(email);
        }
        while (newCode == oldCode);

        var response = await _client.VerifySignupAsync(email, oldCode);

        await response.ShouldBeInvalidCodeAsync();
    }

    [Fact]
    public async Task Signup_RestartedWithOtherDetails_CreatesUserFromTheNewPayload()
    {
        var email = TestData.Email("journey-restart-payload");
        await (await _client.StartSignupAsync(email, TestData.Password, name: "First")).ShouldBeAcceptedAsync();
        app.Clock.Advance(PastCooldown);
        await (await _client.StartSignupAsync(email, TestData.NewPassword, name: "Second")).ShouldBeAcceptedAsync();
        var verified = await (await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email))).ShouldHaveJsonAsync(HttpStatusCode.OK);

        var me = await (await _client.GetMeAsync(verified.GetProperty("accessToken").GetString())).ShouldHaveJsonAsync(HttpStatusCode.OK);

        me.GetProperty("name").GetString().Should().Be("Second");
        (await _client.LoginAsync(email, TestData.NewPassword)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Signup_RestartedWithinCooldown_Returns429AndFirstCodeStillWorks()
    {
        var email = TestData.Email("journey-restart-early");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        await (await _client.StartSignupAsync(email)).ShouldBeTooManyRequestsAsync("too_frequent");

        var response = await _client.VerifySignupAsync(email, code);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_BeforeVerification_WritesNothingToTheUserTable()
    {
        var email = TestData.Email("journey-norow");
        var before = await app.CountUsersAsync();

        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        app.Clock.Advance(PastCooldown);
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        await (await _client.VerifySignupAsync(email, TestData.WrongCode(await app.ReadCodeAsync(email)))).ShouldBeInvalidCodeAsync();

        (await app.CountUsersAsync()).Should().Be(before);
        (await app.CountUsersAsync(email)).Should().Be(0);
    }
}
