using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Configuration;

/// <summary>The <c>OtpSignup</c> keys of CONTRACT.md change what clients see.</summary>
public sealed class ConfiguredOptionsTests(ConfiguredOptionsTests.TunedAppFactory app) : IClassFixture<ConfiguredOptionsTests.TunedAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_TunedLifetimeAndCooldown_Returns202WithThoseSeconds()
    {
        var response = await _client.StartSignupAsync(TestData.Email("tuned"));

        await response.ShouldBeAcceptedAsync(expiresIn: 300, resendAfter: 30);
    }

    [Fact]
    public async Task Start_TunedLength_SendsCodeOfThatLength()
    {
        var email = TestData.Email("tuned-length");

        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync(expiresIn: 300, resendAfter: 30);

        (await app.ReadCodeAsync(email)).Should().MatchRegex("^[0-9]{8}$");
    }

    [Fact]
    public async Task Verify_TunedMaxAttempts_LocksAfterThatManyWrongGuesses()
    {
        var email = TestData.Email("tuned-attempts");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync(expiresIn: 300, resendAfter: 30);
        var code = await app.ReadCodeAsync(email);
        for (var i = 1; i <= 3; i++)
        {
            await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, i))).ShouldBeInvalidCodeAsync();
        }

        var response = await _client.VerifySignupAsync(email, code);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Fact]
    public async Task Start_TunedMaxPerHour_Returns429RateLimitedAfterThatMany()
    {
        var email = TestData.Email("tuned-hourly");
        for (var i = 0; i < 2; i++)
        {
            await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync(expiresIn: 300, resendAfter: 30);
            app.Clock.Advance(TimeSpan.FromSeconds(31));
        }

        var response = await _client.StartSignupAsync(email);

        (await response.ShouldBeTooManyRequestsAsync("rate_limited")).Should().Be(3600 - 62);
    }

    /// <summary>The sample with every code and resend key changed.</summary>
    public sealed class TunedAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public TunedAppFactory()
        {
            WithSetting("OtpSignup:Code:Length", "8");
            WithSetting("OtpSignup:Code:Lifetime", "00:05:00");
            WithSetting("OtpSignup:Code:MaxAttempts", "3");
            WithSetting("OtpSignup:Resend:Cooldown", "00:00:30");
            WithSetting("OtpSignup:Resend:MaxPerHour", "2");
        }
    }
}

/// <summary>Bad configuration stops the app at start-up with a message that names the key.</summary>
public sealed class BadConfigurationTests
{
    [Theory]
    [InlineData("OtpSignup:Code:Length", "3")]
    [InlineData("OtpSignup:Code:Length", "11")]
    [InlineData("OtpSignup:Code:Lifetime", "-00:01:00")]
    [InlineData("OtpSignup:Code:MaxAttempts", "0")]
    [InlineData("OtpSignup:Resend:MaxPerHour", "0")]
    [InlineData("OtpSignup:PendingLifetime", "00:00:00")]
    [InlineData("OtpSignup:Store", "Cassandra")]
    public async Task Startup_BadValue_FailsNamingTheKey(string key, string value)
    {
        await using var factory = new SampleAppFactory().WithSetting(key, value);

        var start = () => factory.CreateClient();

        start.Should().Throw<Exception>().Which.ToString().Should().Contain(key);
    }
}
