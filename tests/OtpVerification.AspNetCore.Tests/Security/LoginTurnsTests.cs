using System.Collections;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// The third attack review of the sample's <c>POST /login</c>: logins of one email take turns on
/// the instance (<c>LoginTurns</c>). The queue cap refused right passwords (fixed: the first test
/// failed with a cap of 16); cancelled waiters and a throwing store leave no gate behind.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class LoginTurnsTests(ITestOutputHelper output)
{
    private const string Wrong = "Wr0ng-Passw0rd!";

    [Fact]
    public async Task Login_RightPasswordSentByManyClientsAtOnce_EverySignInSucceeds()
    {
        // Past MaxLoginsQueuedPerEmail (16 when this was found; 64 now) logins of one email running or waiting, a login is
        // answered 401 invalid_credentials unchecked. The account is not locked out and has no
        // second factor, yet the owner's right password (several devices or workers of one service
        // account signing in at once, or the owner while anyone else is queued for the email) is
        // refused with "The email or password is wrong", and nothing about it is counted or logged.
        await using var factory = new SampleAppFactory();
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var email = TestData.Email("many-devices");
        await factory.CreateUserAsync(email, TestData.Password);

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(() => client.LoginAsync(email, TestData.Password))));
        var statuses = answers.Select(a => (int)a.StatusCode).ToList();
        foreach (var a in answers)
        {
            a.Dispose();
        }

        output.WriteLine(string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key} x{g.Count()}")));
        statuses.Should().OnlyContain(s => s == 200, "the right password signs in unless the account is locked out or has two-factor on");
    }

    internal static IDictionary Gates()
        => (IDictionary)typeof(Program).Assembly.GetType("LoginTurns", throwOnError: true)!
            .GetField("Gates", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;

    private static int GateCountNow(IDictionary gates)
    {
        lock (gates)
        {
            return gates.Count;
        }
    }

    [Fact]
    public async Task Login_CancelledWaitersAndAThrowingStore_LeaveNoGateBehind()
    {
        await using var factory = new SampleAppFactory();
        factory.WithServices(s => s.Replace(ServiceDescriptor.Scoped<IUserStore<AppUser>>(sp => new ThrowingStore(sp.GetRequiredService<AppDbContext>()))));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var registered = TestData.Email("turns-reg");
        await factory.CreateUserAsync(registered, TestData.Password);
        var unknown = TestData.Email("turns-unk");
        var boom = TestData.Email("boom");
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var rnd = new Random(1);
        for (var round = 0; round < 6; round++)
        {
            var tasks = new List<Task>();
            foreach (var email in new[] { registered, unknown, boom, registered.ToUpperInvariant(), " " + unknown + " " })
            {
                for (var i = 0; i < 10; i++)
                {
                    var cts = new CancellationTokenSource(rnd.Next(1, 400));
                    var body = new { email, password = Wrong + i };
                    tasks.Add(Task.Run(async () =>
                    {
                        try
                        {
                            using var r = await client.PostAsJsonAsync("/login", body, cts.Token);
                            statuses.AddOrUpdate(email.Trim()[..4] + ((int)r.StatusCode).ToString(), 1, (_, n) => n + 1);
                        }
                        catch (Exception e)
                        {
                            statuses.AddOrUpdate(e.GetType().Name + ":" + e.GetBaseException().GetType().Name, 1, (_, n) => n + 1);
                        }
                    }));
                }
            }

            await Task.WhenAll(tasks);
        }

        output.WriteLine(string.Join(", ", statuses.Select(kv => $"{kv.Key}={kv.Value}")));

        // A client that gave up leaves its request running on the server until the request sees
        // the abort: wait (up to 10 s) for those to end rather than for a fixed time. A gate that
        // leaked never goes.
        var gates = Gates();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && GateCountNow(gates) > 0)
        {
            await Task.Delay(20);
        }

        lock (gates)
        {
            output.WriteLine("gates left: " + gates.Count + " " + string.Join(",", gates.Keys.Cast<object>()));
            gates.Count.Should().Be(0);
        }
    }

    private sealed class ThrowingStore(AppDbContext context) : UserOnlyStore<AppUser, AppDbContext>(context)
    {
        public override Task<AppUser?> FindByNameAsync(string normalizedUserName, CancellationToken cancellationToken = default)
            => normalizedUserName.StartsWith("BOOM", StringComparison.Ordinal) ? throw new InvalidOperationException("store down") : base.FindByNameAsync(normalizedUserName, cancellationToken);
    }
}
