using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// The second attack review of the sample's rewritten <c>POST /login</c>. It attacked a version that
/// counted wrong passwords in one atomic update of its own beside
/// <c>CheckPasswordSignInAsync(lockoutOnFailure: false)</c>; its findings led to the handler as it is
/// (one login per email at a time, Identity's <c>PasswordSignInAsync(lockoutOnFailure: true)</c>).
/// A failing test here is a finding; the report of the review explains each one.
/// </summary>
public sealed class LoginAttack2Tests(SampleAppFactory app, ITestOutputHelper output) : IClassFixture<SampleAppFactory>
{
    private const string Wrong = "Wr0ng-Passw0rd!";

    private readonly HttpClient _client = app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });

    // ---- Finding: the right password that loses Identity's reset race is counted as a wrong one ----

    [Fact]
    public async Task Login_RightPasswordWhileAWrongOneIsCounted_IsNotCountedAsAFailure()
    {
        // The owner sends the right password while an attacker's wrong password for the same
        // account is being counted (between the owner's lookup and Identity's reset of the count).
        // Identity then refuses the owner (ResetAccessFailedCountAsync loses the concurrency-stamp
        // race: SignInResult.Failed) but never counts the right password as a failure. The handler
        // reads that Failed as "the password was wrong" and counts it: with three earlier failures,
        // the attacker's fourth plus the owner's right password lock the owner out.
        await using var factory = new SampleAppFactory();
        var email = TestData.Email("login-race");
        var hook = new RaceHook();
        factory.WithServices(s => s.Replace(ServiceDescriptor.Scoped<IUserStore<AppUser>>(sp => new RacingUserStore(sp.GetRequiredService<AppDbContext>(), hook))));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        await factory.CreateUserAsync(email, TestData.Password);
        for (var i = 0; i < 3; i++)
        {
            (await client.LoginAsync(email, Wrong + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        // Just before the owner's reset is written, the attacker's wrong password is sent. Logins of
        // one email take turns: the attacker's waits for the owner's to end (up to 2 s here, or the
        // test would wait for itself); before they took turns, it was answered and counted first.
        Task<HttpResponseMessage>? attacker = null;
        hook.BeforeUpdate = async () =>
        {
            hook.BeforeUpdate = null;
            attacker = client.LoginAsync(email, Wrong + "race");
            await Task.WhenAny(attacker, Task.Delay(TimeSpan.FromSeconds(2)));
        };
        using var owner = await client.LoginAsync(email, TestData.Password);
        attacker.Should().NotBeNull("the owner's sign-in resets the count");
        using (var answer = await attacker!)
        {
            answer.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        var (count, lockedOut, _) = await factory.LockoutStateAsync(email);
        output.WriteLine($"owner's right password: {(int)owner.StatusCode}; afterwards AccessFailedCount={count}, locked out={lockedOut}");

        owner.StatusCode.Should().Be(HttpStatusCode.OK, "the right password signs in");
        lockedOut.Should().BeFalse("only four wrong passwords were sent, and the right one is never counted as a failure");
        count.Should().BeLessThanOrEqualTo(4);
    }

    // ---- Finding: a lockout and the failures before it no longer show in Identity's logs and metrics ----

    [Fact]
    public async Task Login_FiveWrongPasswords_AreSeenByIdentitysMetricsAndLogAsFailuresAndALockout()
    {
        // Identity's AccessFailedAsync records each failure as a user update (metric
        // aspnetcore.identity.user.update.duration, update_type=increment_access_failed) and logs
        // "User is locked out." (UserLockedOut) when the count reaches the limit: what monitoring of
        // brute force watches. The handler's own ExecuteUpdate bypasses both.
        await using var factory = new SampleAppFactory().WithLogCapture();
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var meters = factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var checks = 0;
        var updates = new System.Collections.Concurrent.ConcurrentBag<string?>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Identity" && instrument.Meter.Scope == meters)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            if (instrument.Name == "aspnetcore.identity.user.update.duration")
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "aspnetcore.identity.user.update_type")
                    {
                        updates.Add(tag.Value as string);
                    }
                }
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) =>
        {
            if (instrument.Name == "aspnetcore.identity.user.check_password_attempts")
            {
                Interlocked.Increment(ref checks);
            }
        });
        listener.Start();
        var email = TestData.Email("login-metrics");
        await factory.CreateUserAsync(email, TestData.Password);
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            // Sanity: an update through UserManager is seen by the listener.
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            (await users.SetLockoutEnabledAsync((await users.FindByNameAsync(email))!, true)).Succeeded.Should().BeTrue();
        }

        updates.Should().NotBeEmpty("the listener sees Identity's user updates");
        for (var i = 0; i < 5; i++)
        {
            (await client.LoginAsync(email, Wrong + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        (await factory.LockoutStateAsync(email)).LockedOut.Should().BeTrue();
        output.WriteLine($"check_password_attempts: {checks}; user updates: [{string.Join(", ", updates)}]");
        checks.Should().BeGreaterThanOrEqualTo(5, "the listener sees Identity's meter (each password check is recorded)");
        updates.Count(u => u == "increment_access_failed").Should().Be(5, "Identity records every counted failure as an increment_access_failed update");
        factory.Logs!.Entries.Should().Contain(e => e.Contains("User is locked out.", StringComparison.Ordinal), "Identity logs the moment an account is locked");
    }

    // ---- Finding: Identity's two-factor step is skipped ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Login_RightPasswordForAnAccountWithTwoFactorEnabled_DoesNotSignIn(bool useCookies)
    {
        // Identity's own password sign-in (PasswordSignInAsync, MapIdentityApi's /login) answers
        // RequiresTwoFactor and issues no token or cookie for an account with TwoFactorEnabled.
        // The handler calls CheckPasswordSignInAsync, which never returns RequiresTwoFactor, then
        // SignInAsync: the password alone signs in.
        var email = TestData.Email("login-2fa");
        await app.CreateUserAsync(email, TestData.Password);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = (await users.FindByNameAsync(email))!;
            (await users.ResetAuthenticatorKeyAsync(user)).Succeeded.Should().BeTrue();
            (await users.SetTwoFactorEnabledAsync(user, true)).Succeeded.Should().BeTrue();
        }

        using var response = await _client.PostJsonAsync(useCookies ? "/login?useCookies=true" : "/login", new { email, password = TestData.Password });
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{(int)response.StatusCode} set-cookie={response.Headers.Contains("Set-Cookie")} {body[..Math.Min(body.Length, 120)]}");

        response.StatusCode.Should().NotBe(HttpStatusCode.OK, "Identity requires the second factor before it signs in an account with two-factor authentication enabled");
        // Identity keeps the user for the second step in its own TwoFactorUserId cookie, as
        // MapIdentityApi's /login does; the sign-in cookie is never set.
        (response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : []).Should().NotContain(c => c.StartsWith(".AspNetCore.Identity.Application=", StringComparison.Ordinal));
        body.Should().NotContain("accessToken");
    }

    // ---- Finding (as weak as Identity, but not what the promise says): a burst of guesses is checked before the lockout ----

    [Fact]
    public async Task Login_BurstOfTwentyWrongPasswords_VerifiesNoMoreThanTheLockoutAllows()
    {
        // The lockout is checked before the password hash (~50 ms each): guesses sent at once all
        // pass that check before the fifth wrong one is committed, so each one is verified against
        // the account's real hash, far more than the five the lockout allows. Identity's
        // lockoutOnFailure has the same check-then-act window; the handler's atomic count does not
        // close it (it would have to count the attempt before verifying the password and take it
        // back on success). Counted by a hasher that records verifications of the account's hash.
        const int Burst = 20;
        using var threads = ServerThreads.AtLeast(32);
        var verified = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await using var factory = new SampleAppFactory();
        factory.WithServices(s => s.Replace(ServiceDescriptor.Scoped<IPasswordHasher<AppUser>>(sp => new CountingHasher(new PasswordHasher<AppUser>(sp.GetService<Microsoft.Extensions.Options.IOptions<PasswordHasherOptions>>()), verified))));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var perAccount = new List<int>();
        for (var a = 0; a < 6; a++)
        {
            var email = TestData.Email("login-burst");
            await factory.CreateUserAsync(email, TestData.Password);
            await Task.WhenAll(Enumerable.Range(0, Burst).Select(async i =>
            {
                await Task.Yield();
                using var response = await client.LoginAsync(email, $"{Wrong}{i}");
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            }));
            perAccount.Add(verified.GetValueOrDefault(email));
        }

        output.WriteLine($"of {Burst} wrong passwords sent at once, checked against the account's hash, per account: [{string.Join(", ", perAccount)}]");
        perAccount.Should().AllSatisfy(n => n.Should().BeLessThanOrEqualTo(5, "after five wrong passwords the account is locked: a sixth guess must not be checked"));
    }

    // ---- Held: load, lockout expiry, LockoutEnabled=false, reset after success, stamps ----

    [Fact]
    public async Task Login_ManyParallelLoginsOfEveryKind_NeverAnswer5xx()
    {
        var emails = new List<string>();
        for (var a = 0; a < 6; a++)
        {
            var email = TestData.Email("login-load");
            await app.CreateUserAsync(email, TestData.Password);
            emails.Add(email);
        }

        using var threads = ServerThreads.AtLeast(64);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 240).Select(async i =>
        {
            await Task.Yield();
            var email = i % 7 == 6 ? TestData.Email("login-load-new") : emails[i % 6];
            var password = i % 4 == 0 ? TestData.Password : $"{Wrong}{i}";
            using var response = await _client.LoginAsync(email, password, i % 3 == 0 ? "true" : null);
            return (int)response.StatusCode;
        }));
        output.WriteLine(string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key}×{g.Count()}")));
        statuses.Should().OnlyContain(s => s == 200 || s == 401);
    }

    [Fact]
    public async Task Login_AfterTheLockoutExpired_CountsAgainFromZeroAndLocksAfterFiveMore()
    {
        var email = TestData.Email("login-expired");
        await app.CreateUserAsync(email, TestData.Password);
        for (var i = 0; i < 5; i++)
        {
            (await _client.LoginAsync(email, Wrong + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        (await app.LockoutStateAsync(email)).LockedOut.Should().BeTrue();
        (await _client.LoginAsync(email, TestData.Password)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        await app.SetLockoutEndAsync(email, DateTimeOffset.UtcNow.AddSeconds(-1));
        for (var i = 0; i < 4; i++)
        {
            (await _client.LoginAsync(email, Wrong + "b" + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        var afterFour = await app.LockoutStateAsync(email);
        (afterFour.Count, afterFour.LockedOut).Should().Be((4, false));
        (await _client.LoginAsync(email, Wrong + "b5")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var (count, locked, end) = await app.LockoutStateAsync(email);
        (count, locked).Should().Be((0, true));
        end.Should().BeCloseTo(DateTimeOffset.UtcNow.AddMinutes(5), TimeSpan.FromSeconds(30));
        (await _client.LoginAsync(email, TestData.Password)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Login_RightPasswordAfterFailures_ResetsTheCountAndKeepsTheSecurityStamp()
    {
        var email = TestData.Email("login-reset");
        await app.CreateUserAsync(email, TestData.Password);
        var (stamp, concurrency) = await StampsAsync(app, email);
        for (var i = 0; i < 3; i++)
        {
            (await _client.LoginAsync(email, Wrong + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        var afterFailures = await StampsAsync(app, email);
        afterFailures.Security.Should().Be(stamp);
        afterFailures.Concurrency.Should().NotBe(concurrency);
        var afterThree = await app.LockoutStateAsync(email);
        (afterThree.Count, afterThree.LockedOut).Should().Be((3, false));
        using (var ok = await _client.LoginAsync(email, TestData.Password))
        {
            ok.StatusCode.Should().Be(HttpStatusCode.OK);
            (await ok.Content.ReadAsStringAsync()).Should().Contain("accessToken");
        }

        var afterSignIn = await app.LockoutStateAsync(email);
        (afterSignIn.Count, afterSignIn.LockedOut).Should().Be((0, false));
        (await StampsAsync(app, email)).Security.Should().Be(stamp);
        using var cookie = await _client.LoginAsync(email, TestData.Password, "true");
        cookie.StatusCode.Should().Be(HttpStatusCode.OK);
        cookie.Headers.Contains("Set-Cookie").Should().BeTrue();
    }

    [Fact]
    public async Task Login_LockoutDisabledAccount_IsNeverLockedOutButCountsAsIdentityDoes()
    {
        var email = TestData.Email("login-nolock");
        await app.CreateUserAsync(email, TestData.Password);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            (await users.SetLockoutEnabledAsync((await users.FindByNameAsync(email))!, false)).Succeeded.Should().BeTrue();
        }

        for (var i = 0; i < 7; i++)
        {
            (await _client.LoginAsync(email, Wrong + i)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        // Identity's AccessFailedAsync does not look at LockoutEnabled: count 7 -> locked at 5 (count 0, LockoutEnd set), then 2.
        var afterSeven = await app.LockoutStateAsync(email);
        (afterSeven.Count, afterSeven.LockedOut).Should().Be((2, false));
        (await _client.LoginAsync(email, TestData.Password)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_LogsAtTraceOfEveryPath_NeverHoldThePassword()
    {
        await using var factory = new SampleAppFactory().WithLogCapture();
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var email = TestData.Email("login-log");
        await factory.CreateUserAsync(email, TestData.Password);
        var secrets = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var secret = $"Secr3t-Guess-{i}-{Guid.NewGuid():N}";
            secrets.Add(secret);
            await client.LoginAsync(email, secret); // wrong, then locked out
            await client.LoginAsync(TestData.Email("login-log-new"), secret); // unknown
            await client.PostJsonAsync("/login?useCookies=maybe", new { email, password = secret }); // 400
        }

        factory.Logs!.Entries.Should().NotContain(e => secrets.Any(s => e.Contains(s, StringComparison.Ordinal)) || e.Contains(TestData.Password, StringComparison.Ordinal));
    }


    private static async Task<(string? Security, string? Concurrency)> StampsAsync(SampleAppFactory factory, string email)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users.AsNoTracking().SingleAsync(u => u.UserName == email);
        return (user.SecurityStamp, user.ConcurrencyStamp);
    }

    /// <summary>
    /// A server with more than this machine's two cores: enough pool threads that a burst is not
    /// queued behind the first hashes (the pool injects threads slowly). Restored when disposed.
    /// </summary>
    private sealed class ServerThreads : IDisposable
    {
        private readonly int _workers;
        private readonly int _io;

        private ServerThreads(int threads)
        {
            ThreadPool.GetMinThreads(out _workers, out _io);
            ThreadPool.SetMinThreads(Math.Max(threads, _workers), Math.Max(threads, _io));
        }

        public static ServerThreads AtLeast(int threads) => new(threads);

        public void Dispose() => ThreadPool.SetMinThreads(_workers, _io);
    }

    /// <summary>Identity's hasher, counting the verifications of each user's own hash (by user name).</summary>
    private sealed class CountingHasher(IPasswordHasher<AppUser> inner, System.Collections.Concurrent.ConcurrentDictionary<string, int> verified) : IPasswordHasher<AppUser>
    {
        public string HashPassword(AppUser user, string password) => inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(AppUser user, string hashedPassword, string providedPassword)
        {
            if (user.UserName is { } name)
            {
                verified.AddOrUpdate(name, 1, (_, n) => n + 1);
            }

            return inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    /// <summary>Runs <see cref="BeforeUpdate"/> once, just before the store writes a user.</summary>
    private sealed class RaceHook
    {
        public Func<Task>? BeforeUpdate { get; set; }
    }

    /// <summary>Identity's EF store, with a pause before an update in which another request runs.</summary>
    private sealed class RacingUserStore(AppDbContext context, RaceHook hook) : UserOnlyStore<AppUser, AppDbContext>(context)
    {
        public override async Task<IdentityResult> UpdateAsync(AppUser user, CancellationToken cancellationToken = default)
        {
            if (hook.BeforeUpdate is { } before)
            {
                await before();
            }

            return await base.UpdateAsync(user, cancellationToken);
        }
    }
}
