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
        const int n = 40;
        const int warmUp = 10;
        var registered = Enumerable.Range(0, n + warmUp).Select(_ => TestData.Email("login-t-reg")).ToList();
        foreach (var email in registered)
        {
            await app.CreateUserAsync(email, TestData.Password);
        }

        using var client = app.CreateClient();
        (await client.LoginAsync(TestData.Email("warm-up"), "Wr0ng-Passw0rd!")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var forRegistered = new List<double>();
        var forUnknown = new List<double>();
        for (var i = 0; i < n + warmUp; i++)
        {
            // One wrong password per account: the lockout (5 failures) is never reached. Which
            // goes first alternates, so neither side always finds the caches warmed by the other.
            double r, u;
            if (i % 2 == 0)
            {
                r = await TimeAsync(() => client.LoginAsync(registered[i], "Wr0ng-Passw0rd!"));
                u = await TimeAsync(() => client.LoginAsync(TestData.Email("login-t-new"), "Wr0ng-Passw0rd!"));
            }
            else
            {
                u = await TimeAsync(() => client.LoginAsync(TestData.Email("login-t-new"), "Wr0ng-Passw0rd!"));
                r = await TimeAsync(() => client.LoginAsync(registered[i], "Wr0ng-Passw0rd!"));
            }

            if (i >= warmUp)
            {
                forRegistered.Add(r);
                forUnknown.Add(u);
            }
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
