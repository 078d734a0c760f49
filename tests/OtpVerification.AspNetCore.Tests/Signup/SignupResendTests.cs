using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary><c>POST /signup/resend</c> with <c>OtpSignup:Resend:Strategy=NewCode</c>: every resend a new code (the same-code default: <see cref="SignupSameCodeResendTests"/>).</summary>
public sealed class SignupResendTests(NewCodeSampleAppFactory app) : IClassFixture<NewCodeSampleAppFactory>
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

/// <summary>The sample with <c>OtpSignup:Resend:Strategy=NewCode</c>.</summary>
public sealed class NewCodeSampleAppFactory : SampleAppFactory
{
    /// <summary>Creates the factory.</summary>
    public NewCodeSampleAppFactory() => WithSetting("OtpSignup:Resend:Strategy", "NewCode");
}

/// <summary><c>POST /signup/resend</c> with the default <c>OtpSignup:Resend:Strategy=SameCode</c> (issue 21).</summary>
public sealed class SignupSameCodeResendTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Resend_EarlyInTheLifetime_MailsTheSameCodeAndKeepsItsExpiry()
    {
        var email = TestData.Email("same-early");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var first = await app.ReadCodeAsync(email);
        app.Clock.Advance(TimeSpan.FromSeconds(61));

        var response = await _client.ResendSignupAsync(email);

        await response.ShouldBeAcceptedAsync(expiresIn: 539);
        var messages = await app.ReadOutboxAsync(email);
        messages.Should().HaveCount(2);
        messages[0].Body.Should().Contain(first).And.Contain("same code", "the message says it is the code sent before");
        (await _client.VerifySignupAsync(email, first)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Resend_KeepsTheWrongGuesses_ThreeWrongResendTwoWrongLocksTheCode()
    {
        var email = TestData.Email("same-guesses");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        for (var i = 1; i <= 3; i++)
        {
            await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, i))).ShouldBeInvalidCodeAsync();
        }

        app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        (await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, 4))).ShouldBeInvalidCodeAsync()).Should().Be(1);
        (await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, 5))).ShouldBeInvalidCodeAsync()).Should().Be(0);

        await (await _client.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Fact]
    public async Task Resend_LateInTheLifetime_MailsANewCodeAndTheOldOneDies()
    {
        var email = TestData.Email("same-late");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var first = await app.ReadCodeAsync(email);
        app.Clock.Advance(TimeSpan.FromMinutes(6));

        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync(expiresIn: 600);

        var second = await app.ReadCodeAsync(email);
        second.Should().NotBe(first);
        await (await _client.VerifySignupAsync(email, first)).ShouldBeInvalidCodeAsync();
        (await _client.VerifySignupAsync(email, second)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Resend_SameCode_IsKeptEncryptedAndNeverLogged()
    {
        await using var logged = new SampleAppFactory().WithLogCapture();
        using var client = logged.CreateClient();
        var email = TestData.Email("same-logs");
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await logged.ReadCodeAsync(email);
        logged.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();

        logged.Logs!.Entries.Should().NotBeEmpty();
        string.Join("\n", logged.Logs.Entries).Should().NotContain(code);
    }
}
