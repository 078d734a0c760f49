using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Sample.Data;
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
    private const int N = 40;
    private const int WarmUp = 10;

    [Fact]
    public async Task Login_WrongPasswordForRegisteredVersusUnknownAddresses_LatenciesCannotBeToldApart()
    {
        var registered = Enumerable.Range(0, N + WarmUp).Select(_ => TestData.Email("login-t-reg")).ToList();
        foreach (var email in registered)
        {
            await app.CreateUserAsync(email, TestData.Password);
        }

        // One wrong password per account: the lockout (5 failures) is never reached.
        await CompareWithUnknownAsync(registered, "an attacker times /login to learn which emails have accounts");
    }

    [Fact]
    public async Task Login_LockedOutAccountVersusUnknownAddress_LatenciesCannotBeToldApart()
    {
        // Five wrong passwords lock an account; Identity then answers without checking the
        // password. The attacker's sixth try must still take as long as for an unknown email.
        var locked = await LockedOutAccountsAsync("login-t-locked");
        await CompareWithUnknownAsync(locked, "an attacker who locked an account times /login to learn that it exists");
    }

    [Fact]
    public async Task Login_WrongPasswordForRegisteredVersusLockedOutAccount_LatenciesCannotBeToldApart()
    {
        // Measured directly (from the second attack review), not each against unknown emails.
        var registered = Enumerable.Range(0, N + WarmUp).Select(_ => TestData.Email("login2-t-reg")).ToList();
        var locked = await LockedOutAccountsAsync("login2-t-locked");
        foreach (var email in registered)
        {
            await app.CreateUserAsync(email, TestData.Password);
        }

        await CompareAsync(registered, locked, "an attacker who locked an account must not learn from the answer's time that it is locked");
    }

    private async Task<List<string>> LockedOutAccountsAsync(string tag)
    {
        var locked = Enumerable.Range(0, N + WarmUp).Select(_ => TestData.Email(tag)).ToList();
        foreach (var email in locked)
        {
            await app.CreateUserAsync(email, TestData.Password);
            await app.SetLockoutEndAsync(email, DateTimeOffset.UtcNow.AddDays(1));
        }

        return locked;
    }

    private Task CompareWithUnknownAsync(IReadOnlyList<string> registered, string because)
        => CompareAsync(registered, Enumerable.Range(0, N + WarmUp).Select(_ => TestData.Email("login-t-new")).ToList(), because);

    // A wrong password for each address of the two lists, in interleaved pairs; the two samples'
    // distributions are compared with a two-sample Kolmogorov–Smirnov test at α = 0.001.
    private async Task CompareAsync(IReadOnlyList<string> first, IReadOnlyList<string> second, string because)
    {
        using var client = app.CreateClient();
        (await client.LoginAsync(TestData.Email("warm-up"), "Wr0ng-Passw0rd!")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var forFirst = new List<double>();
        var forSecond = new List<double>();
        for (var i = 0; i < N + WarmUp; i++)
        {
            // Which goes first alternates, so neither side always finds the caches warmed by the other.
            double a, b;
            if (i % 2 == 0)
            {
                a = await TimeAsync(() => client.LoginAsync(first[i], "Wr0ng-Passw0rd!"));
                b = await TimeAsync(() => client.LoginAsync(second[i], "Wr0ng-Passw0rd!"));
            }
            else
            {
                b = await TimeAsync(() => client.LoginAsync(second[i], "Wr0ng-Passw0rd!"));
                a = await TimeAsync(() => client.LoginAsync(first[i], "Wr0ng-Passw0rd!"));
            }

            if (i >= WarmUp)
            {
                forFirst.Add(a);
                forSecond.Add(b);
            }
        }

        output.WriteLine(KolmogorovSmirnov.Describe(forFirst, forSecond));
        KolmogorovSmirnov.Statistic(forFirst, forSecond).Should().BeLessThan(KolmogorovSmirnov.CriticalValue(0.001, N, N), because);
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
