using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// CONTRACT.md, start/resend: the cooldown and the hourly limit are per address, not per instance,
/// when instances share one Redis. A server of its own.
/// </summary>
public sealed class MultiInstanceSendLimitTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Start_AgainOnOtherInstanceWithinCooldown_AnswersTooFrequentAndKeepsTheFirstCode()
    {
        await using var apps = TwoInstances.Start(redis, new Dictionary<string, string?> { ["OtpSignup:Resend:Cooldown"] = "00:01:00" });
        var email = TestData.Email("cooldown");

        await (await apps.ClientA.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await apps.A.ReadCodeAsync(email);

        var retryAfter = await (await apps.ClientB.StartSignupAsync(email)).ShouldBeTooManyRequestsAsync("too_frequent");
        retryAfter.Should().BeInRange(1, 60);
        (await (await apps.ClientB.ResendSignupAsync(email)).ShouldBeTooManyRequestsAsync("too_frequent")).Should().BeInRange(1, 60);
        (await apps.B.ReadOutboxAsync(email)).Should().BeEmpty("B refused both sends");

        // The refused start replaced nothing: A's code still works, here on B.
        await (await apps.ClientB.VerifySignupAsync(email, code)).ShouldHaveJsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_AlternatingInstancesPastMaxPerHour_AnswersRateLimited()
    {
        const int maxPerHour = 5;
        await using var apps = TwoInstances.Start(redis, new Dictionary<string, string?>
        {
            ["OtpSignup:Resend:Cooldown"] = "00:00:00",
            ["OtpSignup:Resend:MaxPerHour"] = maxPerHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var email = TestData.Email("hourly");

        for (var i = 0; i < maxPerHour; i++)
        {
            await (await apps.Pick(i).Client.StartSignupAsync(email)).ShouldBeAcceptedAsync(resendAfter: 0);
        }

        (await apps.A.ReadOutboxAsync(email)).Should().HaveCount(3);
        (await apps.B.ReadOutboxAsync(email)).Should().HaveCount(2);

        foreach (var i in new[] { maxPerHour, maxPerHour + 1 })
        {
            var client = apps.Pick(i).Client;
            (await (await client.StartSignupAsync(email)).ShouldBeTooManyRequestsAsync("rate_limited")).Should().BeInRange(1, 3600);
            (await (await client.ResendSignupAsync(email)).ShouldBeTooManyRequestsAsync("rate_limited")).Should().BeInRange(1, 3600);
        }

        (await apps.A.ReadOutboxAsync(email)).Should().HaveCount(3, "no further code was sent");
        (await apps.B.ReadOutboxAsync(email)).Should().HaveCount(2);
    }
}
