using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.AspNetCore.Tests.Infrastructure;

namespace OtpVerification.AspNetCore.Tests.Health;

/// <summary>
/// <c>GET /healthz</c> of the sample on a real <c>redis-server</c> (the Redis store):
/// the check is a <c>PING</c> through the store's connection. Here rather than in the Redis test
/// project, which the sample already pulls in through its reference to the Redis package.
/// </summary>
public sealed class RedisHealthzTests
{
    [Fact]
    public async Task Healthz_RedisKilledThenRestarted_Is503ThenBackTo200()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var factory = new SampleAppFactory();
        // What OtpSignup:Store=Redis does in the sample (which reads that key before the factory's settings apply).
        factory.WithSetting("OtpSignup:Code:HashKey", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)))
            .WithServices(services => services.AddOtpVerification().AddRedisStore(redis.ConnectionString));
        using var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode> { (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode };
        await redis.KillAsync();
        statuses.Add((await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        await redis.StartAgainAsync();
        statuses.Add(await WaitForAsync(client, HttpStatusCode.OK));

        statuses.Should().Equal(HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
    }

    /// <summary>Asks again, as a load balancer's probe would, until <paramref name="wanted"/> or 20 s (the store reconnects on the wall clock, with back-off).</summary>
    private static async Task<HttpStatusCode> WaitForAsync(HttpClient client, HttpStatusCode wanted)
    {
        var watch = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode;
            if (status == wanted)
            {
                break;
            }

            await Task.Delay(100);
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(20));

        return status;
    }
}
