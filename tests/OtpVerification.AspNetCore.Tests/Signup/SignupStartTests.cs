using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary><c>POST /signup/start</c>: the rows of its table in CONTRACT.md.</summary>
public sealed class SignupStartTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_NewEmail_Returns202WithExpiresInAndResendAfter()
    {
        var response = await _client.StartSignupAsync(TestData.Email("start"));

        await response.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
    }

    [Fact]
    public async Task Start_NewEmail_SendsOneSignupCodeByEmail()
    {
        var email = TestData.Email("start-sends");

        await _client.StartSignupAsync(email);

        var messages = await app.ReadOutboxAsync(email);
        messages.Should().ContainSingle().Which.Should().Match<OutboxMessage>(m => m.Channel == "email" && m.Purpose == "signup" && m.To == email);
        messages[0].Body.Should().MatchRegex(@"\b\d{6}\b");
    }

    [Fact]
    public async Task Start_MixedCaseEmailWithSpaces_SendsToNormalisedAddress()
    {
        var email = TestData.Email("normalise");

        await (await _client.StartSignupAsync("  " + email.ToUpperInvariant() + " ")).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().ContainSingle().Which.To.Should().Be(email);
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("ana@")]
    [InlineData("@example.com")]
    [InlineData("ana@@example.com")]
    [InlineData("ana@example")]
    [InlineData("ana example@example.com")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Start_BadEmail_Returns400ValidationOnEmail(string? email)
    {
        var response = await _client.StartSignupAsync(email);

        await response.ShouldBeValidationProblemAsync("email");
    }

    [Theory]
    [InlineData(TestData.WeakPassword)]
    [InlineData("Sh0r!")]
    [InlineData("alllowercase1!")]
    [InlineData("NoDigitsHere!")]
    [InlineData("N0Symbols")]
    public async Task Start_PasswordFailingIdentityPolicy_Returns400ValidationOnPassword(string password)
    {
        var response = await _client.StartSignupAsync(TestData.Email("weak"), password);

        await response.ShouldBeValidationProblemAsync("password");
    }

    [Fact]
    public async Task Start_MissingPassword_Returns400ValidationOnPassword()
    {
        var response = await _client.StartSignupAsync(TestData.Email("nopass"), password: null);

        await response.ShouldBeValidationProblemAsync("password");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Start_MissingName_Returns400ValidationOnName(string? name)
    {
        var response = await _client.StartSignupAsync(TestData.Email("noname"), name: name);

        await response.ShouldBeValidationProblemAsync("name");
    }

    [Fact]
    public async Task Start_SeveralBadFields_ReportsEveryFieldAtOnce()
    {
        var response = await _client.StartSignupAsync("nope", TestData.WeakPassword, name: null);

        var problem = await response.ShouldBeProblemAsync(System.Net.HttpStatusCode.BadRequest, "validation");
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Contain(["email", "password", "name"]);
    }

    [Fact]
    public async Task Start_Invalid_SendsNothing()
    {
        var email = TestData.Email("invalid-nosend");

        await _client.StartSignupAsync(email, TestData.WeakPassword);

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Start_AgainWithinCooldown_Returns429TooFrequentWithRetryAfter()
    {
        var email = TestData.Email("cooldown");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.StartSignupAsync(email);

        (await response.ShouldBeTooManyRequestsAsync("too_frequent")).Should().Be(60);
    }

    [Fact]
    public async Task Start_AgainWithinCooldown_RetryAfterCountsDown()
    {
        var email = TestData.Email("cooldown-countdown");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        app.Clock.Advance(TimeSpan.FromSeconds(45));

        var response = await _client.StartSignupAsync(email);

        (await response.ShouldBeTooManyRequestsAsync("too_frequent")).Should().Be(15);
    }

    [Fact]
    public async Task Start_MoreThanMaxPerHour_Returns429RateLimitedWithRetryAfter()
    {
        var email = TestData.Email("hourly");
        for (var i = 0; i < 5; i++)
        {
            await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        var response = await _client.StartSignupAsync(email);

        // The window opened with the first send, 5 x 61 s ago.
        (await response.ShouldBeTooManyRequestsAsync("rate_limited")).Should().Be(3600 - (5 * 61));
    }
}
