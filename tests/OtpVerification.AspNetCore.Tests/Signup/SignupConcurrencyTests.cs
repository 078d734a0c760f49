using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>Single use and the attempt cap under hundreds of parallel verifies.</summary>
public sealed class SignupConcurrencyTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient(new() { HandleCookies = false });

    [Fact]
    public async Task Verify_100ConcurrentRightCodes_ExactlyOneSucceedsAndOneUserIsCreated()
    {
        var email = TestData.Email("race-right");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => _client.VerifySignupAsync(email, code))));

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(1);
        foreach (var loser in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            // The winner consumed the flow: every other verify finds it gone.
            await loser.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
        }

        (await app.CountUsersAsync(email)).Should().Be(1);
    }

    [Fact]
    public async Task Verify_200ConcurrentWrongGuesses_AtMostMaxAttemptsAreEvaluated()
    {
        var email = TestData.Email("race-wrong");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        var responses = await Task.WhenAll(Enumerable.Range(1, 200).Select(i => Task.Run(() => _client.VerifySignupAsync(email, TestData.WrongCode(code, i)))));

        var codes = new List<string>();
        foreach (var response in responses)
        {
            var errorCode = (await response.ShouldHaveJsonAsync(HttpStatusCode.BadRequest)).GetProperty("code").GetString()!;
            await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, errorCode);
            codes.Add(errorCode);
        }

        codes.Count(c => c == "invalid_code").Should().BeLessThanOrEqualTo(5);
        codes.Where(c => c != "invalid_code").Should().OnlyContain(c => c == "max_attempts");
        await (await _client.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }
}
