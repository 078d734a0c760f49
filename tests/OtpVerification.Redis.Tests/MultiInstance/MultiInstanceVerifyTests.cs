using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// CONTRACT.md, verify: a code sent by one instance works on another; concurrent verifies of the
/// right code create exactly one user, and concurrent wrong guesses get no more than MaxAttempts
/// evaluations in all, across two instances that share one Redis. A server of its own.
/// </summary>
public sealed class MultiInstanceVerifyTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const int MaxAttempts = 5;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["OtpSignup:Code:MaxAttempts"] = MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task Verify_StartedOnOneInstanceVerifiedOnAnother_CreatesTheUserOnce()
    {
        await using var apps = TwoInstances.Start(redis, Settings);
        var email = TestData.Email("cross");

        await (await apps.ClientA.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await apps.A.ReadCodeAsync(email);
        (await apps.B.ReadOutboxAsync(email)).Should().BeEmpty("only the instance that handled start sends the code");

        var verify = await (await apps.ClientB.VerifySignupAsync(email, code)).ShouldHaveJsonAsync(HttpStatusCode.OK);
        verify.GetProperty("email").GetString().Should().Be(email);
        verify.GetProperty("userId").GetString().Should().NotBeNullOrEmpty();

        (await apps.A.CountUsersAsync()).Should().Be(1);
        (await apps.B.CountUsersAsync(email)).Should().Be(1);
        // The code was used on B: the flow is over on every instance.
        await (await apps.ClientA.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
        (await apps.A.CountUsersAsync()).Should().Be(1);

        // The token B issued is accepted by A: the instances share the Data Protection key ring.
        var me = await (await apps.ClientA.GetMeAsync(verify.GetProperty("accessToken").GetString())).ShouldHaveJsonAsync(HttpStatusCode.OK);
        me.GetProperty("email").GetString().Should().Be(email);
        me.GetProperty("emailVerified").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Verify_500ParallelWrongGuessesOnTwoInstances_EvaluatesExactlyMaxAttemptsThenLocks()
    {
        await using var apps = TwoInstances.Start(redis, Settings);
        var email = TestData.Email("guess");
        await (await apps.ClientA.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await apps.A.ReadCodeAsync(email);

        var answers = await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
        {
            var (instance, client) = apps.Pick(i);
            return await Answer.ReadAsync(instance.Name, await client.VerifySignupAsync(email, TestData.WrongCode(code, i + 1)));
        }));

        answers.Count(a => a.Instance == "A").Should().Be(250);
        answers.GroupBy(a => a.Kind).ToDictionary(g => g.Key, g => g.Count()).Should().BeEquivalentTo(
            new Dictionary<string, int> { ["400 invalid_code"] = MaxAttempts, ["400 max_attempts"] = 500 - MaxAttempts },
            "exactly MaxAttempts guesses are evaluated across both instances; answers: {0}",
            string.Join(Environment.NewLine, answers.Where(a => a.Code is not ("invalid_code" or "max_attempts")).Take(5)));
        answers.Where(a => a.Code == "invalid_code").Select(a => a.AttemptsRemaining).Should().BeEquivalentTo(
            Enumerable.Range(0, MaxAttempts).Select(n => (int?)n), "each evaluated guess used up one distinct attempt");

        foreach (var client in new[] { apps.ClientA, apps.ClientB })
        {
            await (await client.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
        }

        (await apps.A.CountUsersAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Verify_100ParallelRightCodesOnTwoInstances_CreatesExactlyOneUser()
    {
        await using var apps = TwoInstances.Start(redis, Settings);
        var email = TestData.Email("race");
        await (await apps.ClientB.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await apps.B.ReadCodeAsync(email);

        // A sees B's pending registration (one guess spent), so the race below really spans both instances.
        (await (await apps.ClientA.VerifySignupAsync(email, TestData.WrongCode(code))).ShouldBeInvalidCodeAsync()).Should().Be(MaxAttempts - 1);

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var (instance, client) = apps.Pick(i);
            return await Answer.ReadAsync(instance.Name, await client.VerifySignupAsync(email, code));
        }));

        answers.Should().NotContain(a => (int)a.Status >= 500);
        answers.GroupBy(a => a.Kind).ToDictionary(g => g.Key, g => g.Count()).Should().BeEquivalentTo(
            new Dictionary<string, int> { ["200"] = 1, ["400 flow_expired"] = 99 },
            "one verify consumes the registration and ends the flow for the others; answers: {0}",
            string.Join(Environment.NewLine, answers.Where(a => a.Code != "flow_expired").Take(5)));
        answers.Where(a => a.Code == "flow_expired").Should().OnlyContain(a => a.AttemptsRemaining == null, "no pending registration is left to count attempts on");

        (await apps.A.CountUsersAsync()).Should().Be(1, "exactly one user row, whichever instance won");
        (await apps.B.CountUsersAsync(email)).Should().Be(1);
    }
}
