using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary><c>POST /signup/resend</c>.</summary>
public sealed class SignupResendTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private static readonly TimeSpan PastCooldown = TimeSpan.FromSeconds(61);
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Resend_PendingRegistrationAfterCooldown_Returns202WithExpiresInAndResendAfter()
    {
        var email = await StartAsync("resend-ok");
        app.Clock.Advance(PastCooldown);

        var response = await _client.ResendSignupAsync(email);

        await response.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
    }

    [Fact]
    public async Task Resend_PendingRegistration_SendsANewCode()
    {
        var email = await StartAsync("resend-sends");
        app.Clock.Advance(PastCooldown);

        await _client.ResendSignupAsync(email);

        (await app.ReadOutboxAsync(email)).Should().HaveCount(2).And.OnlyContain(m => m.Purpose == "signup");
    }

    [Fact]
    public async Task Resend_PendingRegistration_NewCodeVerifies()
    {
        var email = await StartAsync("resend-new-works");
        app.Clock.Advance(PastCooldown);
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, code);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Resend_PendingRegistration_OldCodeStopsWorking()
    {
        var email = await StartAsync("resend-old-fails");
        var oldCode = await app.ReadCodeAsync(email);
        string newCode;
        do
        {
            // A new code equals the old one once in a million; resend again then.
            app.Clock.Advance(PastCooldown);
            await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
            newCode = await app.ReadCodeAsync(email);
        }
        while (newCode == oldCode);

        var response = await _client.VerifySignupAsync(email, oldCode);

        await response.ShouldBeInvalidCodeAsync();
    }

    [Fact]
    public async Task Resend_AfterWrongGuesses_AttemptCounterStartsAgain()
    {
        var email = await StartAsync("resend-counter");
        var oldCode = await app.ReadCodeAsync(email);
        for (var i = 1; i <= 3; i++)
        {
            await (await _client.VerifySignupAsync(email, TestData.WrongCode(oldCode, i))).ShouldBeInvalidCodeAsync();
        }

        app.Clock.Advance(PastCooldown);
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        var newCode = await app.ReadCodeAsync(email);

        var response = await _client.VerifySignupAsync(email, TestData.WrongCode(newCode));

        (await response.ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Resend_AfterMaxAttempts_NewCodeVerifies()
    {
        var email = await StartAsync("resend-unlocks");
        var oldCode = await app.ReadCodeAsync(email);
        for (var i = 1; i <= 5; i++)
        {
            await _client.VerifySignupAsync(email, TestData.WrongCode(oldCode, i));
        }

        await (await _client.VerifySignupAsync(email, oldCode)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
        app.Clock.Advance(PastCooldown);
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Resend_WithinCooldown_Returns429TooFrequent()
    {
        var email = await StartAsync("resend-cooldown");
        app.Clock.Advance(TimeSpan.FromSeconds(20));

        var response = await _client.ResendSignupAsync(email);

        (await response.ShouldBeTooManyRequestsAsync("too_frequent")).Should().Be(40);
    }

    [Fact]
    public async Task Resend_BeyondMaxPerHour_Returns429RateLimited()
    {
        var email = await StartAsync("resend-hourly");
        for (var i = 0; i < 4; i++)
        {
            app.Clock.Advance(PastCooldown);
            await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        }

        app.Clock.Advance(PastCooldown);
        var response = await _client.ResendSignupAsync(email);

        (await response.ShouldBeTooManyRequestsAsync("rate_limited")).Should().Be(3600 - (5 * 61));
    }

    [Fact]
    public async Task Resend_UnknownAddress_Returns202()
    {
        var response = await _client.ResendSignupAsync(TestData.Email("resend-unknown"));

        await response.ShouldBeAcceptedAsync(expiresIn: 600, resendAfter: 60);
    }

    [Fact]
    public async Task Resend_UnknownAddress_SendsNothing()
    {
        var email = TestData.Email("resend-unknown-nosend");

        await _client.ResendSignupAsync(email);

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("")]
    public async Task Resend_BadEmail_Returns400ValidationOnEmail(string email)
    {
        var response = await _client.ResendSignupAsync(email);

        await response.ShouldBeValidationProblemAsync("email");
    }

    private async Task<string> StartAsync(string tag)
    {
        var email = TestData.Email(tag);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        return email;
    }
}
