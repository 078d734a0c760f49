using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// The attack review of the sample's <c>POST /login</c> (the "break the promise" brief): a wrong
/// login must not tell whether the email has an account or whether it is locked out, and every
/// wrong password for an account must count toward Identity's lockout. A failing test here is a
/// finding; the report of the review explains each one.
/// </summary>
public sealed class LoginAttackTests(SampleAppFactory app, ITestOutputHelper output) : IClassFixture<SampleAppFactory>
{
    private const string Wrong = "Wr0ng-Passw0rd!";

    private readonly HttpClient _client = app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });

    // ---- Finding: the headers of a wrong login tell registered, unlocked accounts apart ----

    [Theory]
    [InlineData(null)]
    [InlineData("true")]
    [InlineData("false")]
    public async Task Login_WrongPasswordForRegisteredVersusUnknownAddress_HeadersAreTheSame(string? useCookies)
    {
        var registered = TestData.Email("login-h-reg");
        await app.CreateUserAsync(registered, TestData.Password);

        using var forRegistered = await _client.LoginAsync(registered, Wrong, useCookies);
        using var forUnknown = await _client.LoginAsync(TestData.Email("login-h-new"), Wrong, useCookies);

        forRegistered.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        forUnknown.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        output.WriteLine($"registered: {Headers(forRegistered)}\nunknown:    {Headers(forUnknown)}");
        Headers(forRegistered).Should().Be(Headers(forUnknown), "an attacker reads the headers of /login to learn which emails have accounts");
    }

    [Fact]
    public async Task Login_WrongPasswordForRegisteredVersusLockedOutAccount_HeadersAreTheSame()
    {
        var registered = TestData.Email("login-h-reg");
        await app.CreateUserAsync(registered, TestData.Password);
        var locked = TestData.Email("login-h-locked");
        await app.CreateUserAsync(locked, TestData.Password);
        await app.SetLockoutEndAsync(locked, DateTimeOffset.UtcNow.AddDays(1));

        using var forRegistered = await _client.LoginAsync(registered, Wrong);
        using var forLocked = await _client.LoginAsync(locked, Wrong);

        output.WriteLine($"registered: {Headers(forRegistered)}\nlocked out: {Headers(forLocked)}");
        Headers(forRegistered).Should().Be(Headers(forLocked), "an attacker reads the headers of /login to learn that an account is locked out (and that it exists)");
    }

    // ---- Finding: wrong passwords sent in parallel are lost from the lockout count ----

    [Fact]
    public async Task Login_WrongPasswordsSentThreeAtATime_LockTheAccountAfterTheFifth()
    {
        // Sequentially the fifth wrong password locks the account: an attacker sending three at a
        // time must be locked out by the batch holding the fifth, i.e. after at most six guesses.
        // Parallel failures of one account race on its concurrency stamp; the losers are not counted.
        const int Parallel = 3;
        var checkedBeforeLockout = new List<int>();
        for (var a = 0; a < 8; a++)
        {
            var email = TestData.Email("login-par");
            await app.CreateUserAsync(email, TestData.Password);
            var guesses = 0;
            while (!(await app.LockoutStateAsync(email)).LockedOut && guesses < 60)
            {
                await Task.WhenAll(Enumerable.Range(0, Parallel).Select(async i =>
                {
                    using var response = await _client.LoginAsync(email, $"{Wrong}{guesses}-{i}");
                    response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
                }));
                guesses += Parallel;
            }

            checkedBeforeLockout.Add(guesses);
        }

        output.WriteLine($"wrong passwords sent {Parallel} at a time before the account was locked, per account: [{string.Join(", ", checkedBeforeLockout)}]");
        checkedBeforeLockout.Should().AllSatisfy(g => g.Should().BeLessThanOrEqualTo(6, "every wrong password for an existing account counts toward Identity's lockout (5 attempts)"));
    }

    [Fact]
    public async Task Login_RightPasswordAfterSixWrongOnesSentThreeAtATime_IsRefused()
    {
        // Six wrong passwords, then the right one: sequentially the fifth locks the account and the
        // right password is refused. Sent three at a time, the account (any of four) must not open.
        var answers = new List<int>();
        for (var a = 0; a < 4; a++)
        {
            var email = TestData.Email("login-take");
            await app.CreateUserAsync(email, TestData.Password);
            for (var batch = 0; batch < 2; batch++)
            {
                await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
                {
                    using var response = await _client.LoginAsync(email, $"{Wrong}{batch}-{i}");
                    response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
                }));
            }

            using var right = await _client.LoginAsync(email, TestData.Password);
            answers.Add((int)right.StatusCode);
        }

        output.WriteLine($"the right password after six wrong ones (two batches of three), per account: [{string.Join(", ", answers)}]");
        answers.Should().AllSatisfy(s => s.Should().Be(401, "six wrong passwords are more than the five the lockout allows"));
    }


    private static string Headers(HttpResponseMessage response)
        => string.Join("; ", response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key != "Content-Length")
            .Select(h => h.Key + ": " + string.Join(",", h.Value))
            .OrderBy(h => h, StringComparer.OrdinalIgnoreCase));
}
