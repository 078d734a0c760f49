using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// CONTRACT.md, 503 <c>unavailable</c>: the shared Redis is killed under traffic and started
/// again; both instances answer 503 (never 500) meanwhile and recover by themselves, without an
/// app restart. A server of its own (this class stops it).
/// </summary>
public sealed class MultiInstanceRedisOutageTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private enum Phase
    {
        Up,
        Down,
        Restarted,
    }

    [Fact]
    public async Task Endpoints_RedisKilledUnderTrafficThenRestarted_Answer503ThenRecoverWithoutAppRestart()
    {
        await using var apps = TwoInstances.Start(redis);
        var answers = new ConcurrentQueue<(Phase Started, Phase Ended, Answer Answer)>();
        var phase = (int)Phase.Up;
        using var stop = new CancellationTokenSource();

        // Two workers per instance, each alternating a start for a new address (202 while Redis is
        // up) and a verify for an address with nothing pending (400 flow_expired while up: no flow was issued).
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var (instance, client) = apps.Pick(w);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var started = (Phase)Volatile.Read(ref phase);
                var email = TestData.Email("outage");
                var response = n % 2 == 0 ? await client.StartSignupAsync(email) : await client.VerifySignupAsync(email, "123456");
                var answer = await Answer.ReadAsync(instance.Name, response);
                answers.Enqueue((started, (Phase)Volatile.Read(ref phase), answer));
                await Task.Delay(20);
            }
        })).ToArray();

        try
        {
            await EventuallyAsync(() => BothInstancesAnswered(Phase.Up, "202"), "both instances serve while Redis is up");

            Volatile.Write(ref phase, (int)Phase.Down);
            await redis.Server.StopAsync();
            await EventuallyAsync(() => BothInstancesAnswered(Phase.Down, "503 unavailable"), "both instances answer 503 once Redis is gone");

            Volatile.Write(ref phase, (int)Phase.Restarted);
            await redis.Server.StartAsync();
            await EventuallyAsync(() => BothInstancesAnswered(Phase.Restarted, "202") && BothInstancesAnswered(Phase.Restarted, "400 flow_expired"), "both instances recover by themselves once Redis is back");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        var all = answers.ToArray();
        all.Select(a => a.Answer).Should().NotContain(a => (int)a.Status >= 500 && a.Code != "unavailable", "a store outage is a 503 unavailable, never a 500");
        all.Select(a => a.Answer.Kind).Distinct().Should().BeSubsetOf(["202", "400 flow_expired", "503 unavailable"]);
        all.Where(a => a.Ended == Phase.Up).Should().NotContain(a => a.Answer.Status == HttpStatusCode.ServiceUnavailable, "Redis was up for the whole request");

        // And a whole signup across the instances works again, on the same app instances.
        var email = TestData.Email("after");
        await (await apps.ClientB.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        await (await apps.ClientA.VerifySignupAsync(email, await apps.B.ReadCodeAsync(email))).ShouldHaveJsonAsync(HttpStatusCode.OK);
        (await apps.A.CountUsersAsync(email)).Should().Be(1);

        bool BothInstancesAnswered(Phase inPhase, string kind) =>
            answers.Where(a => a.Started == inPhase && a.Answer.Kind == kind).Select(a => a.Answer.Instance).Distinct().Count() == 2;
    }

    private static async Task EventuallyAsync(Func<bool> condition, string because)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > Bound)
            {
                throw new TimeoutException($"Not within {Bound.TotalSeconds} s: {because}.");
            }

            await Task.Delay(100);
        }
    }
}
