using System.Diagnostics;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// The attack review's timing probe of the sample's <c>POST /login</c>: a wrong password for a
/// registered address runs the password hasher, one for an unknown address does not.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class AttackTimingTests(SampleAppFactory app, ITestOutputHelper output) : IClassFixture<SampleAppFactory>
{
    [Fact]
    public async Task Login_WrongPasswordForRegisteredVersusUnknownAddresses_LatenciesCannotBeToldApart()
    {
        const int n = 20;
        var registered = Enumerable.Range(0, n).Select(_ => TestData.Email("login-t-reg")).ToList();
        foreach (var email in registered)
        {
            await app.CreateUserAsync(email, TestData.Password);
        }

        using var client = app.CreateClient();
        (await client.LoginAsync(TestData.Email("warm-up"), "Wr0ng-Passw0rd!")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var forRegistered = new List<double>();
        var forUnknown = new List<double>();
        for (var i = 0; i < n; i++)
        {
            // One wrong password per account: the lockout (5 failures) is never reached.
            forRegistered.Add(await TimeAsync(() => client.LoginAsync(registered[i], "Wr0ng-Passw0rd!")));
            forUnknown.Add(await TimeAsync(() => client.LoginAsync(TestData.Email("login-t-new"), "Wr0ng-Passw0rd!")));
        }

        output.WriteLine(KolmogorovSmirnov.Describe(forRegistered, forUnknown));
        KolmogorovSmirnov.Statistic(forRegistered, forUnknown).Should().BeLessThan(KolmogorovSmirnov.CriticalValue(0.001, n, n), "an attacker times /login to learn which emails have accounts");
    }

    private static async Task<double> TimeAsync(Func<Task<HttpResponseMessage>> call)
    {
        var watch = Stopwatch.StartNew();
        using var response = await call();
        watch.Stop();
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        return watch.Elapsed.TotalMilliseconds;
    }
}
