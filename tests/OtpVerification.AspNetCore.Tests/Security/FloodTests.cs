using System.Globalization;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// Issue 18 over HTTP: the sample with <c>OtpSignup:MaxPendingEntries</c> at 30 takes a flood of
/// bot signups from many client IPs (each under the per-client limit) past its cap, and people who
/// started before, during and after the flood still finish; only the oldest entries are evicted.
/// </summary>
public sealed class FloodTests(FloodTests.SmallStoreAppFactory app) : IClassFixture<FloodTests.SmallStoreAppFactory>
{
    private const int MaxPendingEntries = 30;

    private int _bots;

    [Fact]
    public async Task Verify_PeopleWhoStartedBeforeDuringAndAfterABotFloodPastTheCap_Return200()
    {
        await FloodAsync(20);                                        // the oldest entries: evicted first
        var before = await StartPersonAsync("before", "203.0.113.1");
        await FloodAsync(20);                                        // past the cap
        var during = await StartPersonAsync("during", "203.0.113.2");
        await FloodAsync(5);
        var after = await StartPersonAsync("after", "203.0.113.3");

        var statuses = new List<HttpStatusCode>();
        foreach (var (email, ip) in new[] { (before, "203.0.113.1"), (during, "203.0.113.2"), (after, "203.0.113.3") })
        {
            statuses.Add((await app.CreateClientFrom(ip).VerifySignupAsync(email, await app.ReadCodeAsync(email))).StatusCode);
        }

        statuses.Should().Equal(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK);
    }

    [Fact]
    public async Task Verify_PersonWhoseEntryWasEvicted_Returns400FlowExpired()
    {
        var oldest = await StartPersonAsync("oldest", "203.0.113.4");
        await FloodAsync(MaxPendingEntries);

        var response = await app.CreateClientFrom("203.0.113.4").VerifySignupAsync(oldest, await app.ReadCodeAsync(oldest));

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    private async Task<string> StartPersonAsync(string tag, string ip)
    {
        var email = TestData.Email(tag);
        await (await app.CreateClientFrom(ip).StartSignupAsync(email)).ShouldBeAcceptedAsync();
        return email;
    }

    /// <summary>Bot starts, ten per client IP (the per-client limit is 30 an hour); every one is accepted.</summary>
    private async Task FloodAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var bot = ++_bots;
            var ip = string.Create(CultureInfo.InvariantCulture, $"198.18.{bot / 10 / 250 % 250}.{bot / 10 % 250}");
            await (await app.CreateClientFrom(ip).StartSignupAsync(TestData.Email("bot"))).ShouldBeAcceptedAsync();
        }
    }

    /// <summary>The sample with a small in-memory store and each request's remote IP taken from a test header.</summary>
    public sealed class SmallStoreAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public SmallStoreAppFactory()
        {
            this.WithClientIpHeader();
            WithSetting("OtpSignup:MaxPendingEntries", MaxPendingEntries.ToString(CultureInfo.InvariantCulture));
            WithSetting("OtpSignup:MaxLimitRecords", "10000");
        }
    }
}
