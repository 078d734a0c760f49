using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Guessing a code online": at the defaults an address gets at most
/// <c>Code:MaxAttempts</c> (5) × <c>Resend:MaxPerHour</c> (5) = 25 wrong guesses per hour, however
/// an attacker mixes resends, restarts and guesses.
/// </summary>
public sealed class GuessBudgetTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const int MaxAttempts = 5;
    private const int MaxPerHour = 5;
    private static readonly TimeSpan PastCooldown = TimeSpan.FromSeconds(61);
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Verify_GuessingAcrossResendsForAnHour_AllowsAtMostMaxAttemptsTimesMaxPerHourGuesses()
    {
        var email = TestData.Email("guess-budget");
        var firstSend = app.Clock.GetUtcNow();
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var wrongGuesses = await GuessUntilRefusedAsync(email);

        // The attacker asks for a new code as soon as the cooldown allows, for the rest of the hour.
        while (app.Clock.GetUtcNow() + PastCooldown < firstSend + TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1))
        {
            app.Clock.Advance(PastCooldown);
            var resend = await _client.ResendSignupAsync(email);
            if (resend.StatusCode == HttpStatusCode.Accepted)
            {
                wrongGuesses += await GuessUntilRefusedAsync(email);
            }
        }

        wrongGuesses.Should().Be(MaxAttempts * MaxPerHour, "SECURITY.md promises at most 25 guesses per address per hour at the defaults");
    }

    [Fact]
    public async Task Resend_AfterTheHoursCodesAreGuessedAway_Returns429RateLimited()
    {
        var email = await UseUpTheHourAsync("guess-resend");

        var resend = await _client.ResendSignupAsync(email);

        await resend.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_AfterTheHoursCodesAreGuessedAway_Returns429RateLimited()
    {
        var email = await UseUpTheHourAsync("guess-restart");

        // Restarting the signup is no way round the hourly limit: it counts on the same address.
        var restart = await _client.StartSignupAsync(email);

        await restart.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Verify_AfterTheHoursCodesAreGuessedAway_Returns400MaxAttempts()
    {
        var email = await UseUpTheHourAsync("guess-verify");
        var code = await app.ReadCodeAsync(email);

        // Even the right code of the last send is locked.
        var verify = await _client.VerifySignupAsync(email, code);

        await verify.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    /// <summary>Sends the hour's five codes to a new address and makes five wrong guesses at each.</summary>
    private async Task<string> UseUpTheHourAsync(string tag)
    {
        var email = TestData.Email(tag);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        (await GuessUntilRefusedAsync(email)).Should().Be(MaxAttempts);
        for (var send = 2; send <= MaxPerHour; send++)
        {
            app.Clock.Advance(PastCooldown);
            await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();
            (await GuessUntilRefusedAsync(email)).Should().Be(MaxAttempts);
        }

        app.Clock.Advance(PastCooldown);
        return email;
    }

    /// <summary>Guesses wrong codes for the current code until the answer is not <c>invalid_code</c>; returns how many were evaluated.</summary>
    private async Task<int> GuessUntilRefusedAsync(string email)
    {
        var code = await app.ReadCodeAsync(email);
        var evaluated = 0;
        for (var offset = 1; offset <= 4 * MaxAttempts; offset++)
        {
            var verify = await _client.VerifySignupAsync(email, TestData.WrongCode(code, offset));
            var answer = await verify.ShouldHaveJsonAsync(HttpStatusCode.BadRequest);
            if (answer.GetProperty("code").GetString() != "invalid_code")
            {
                answer.GetProperty("code").GetString().Should().Be("max_attempts");
                break;
            }

            evaluated++;
        }

        return evaluated;
    }
}
