using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// The phone proof's single use across instances whose clocks disagree: the Redis mark of a used
/// proof must outlive the proof on every instance, not only on the one that redeemed it, or an
/// instance whose clock lags accepts the proof again once the mark expired in Redis.
/// </summary>
public sealed class MultiInstancePhoneProofSkewTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Device = "device-skew";

    [Fact]
    public async Task SignupWithProof_UsedOnAFastClockThenOnALaggingOne_SecondUseIsInvalidProof()
    {
        var clocks = new List<OffsetClock>();
        await using var apps = TwoInstances.Start(redis, configureServices: services =>
        {
            var clock = new OffsetClock();
            lock (clocks)
            {
                clocks.Add(clock);
            }

            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
        });
        clocks.Should().HaveCount(2, "each instance has its own clock");
        var phone = "+1415" + Random.Shared.Next(2_000_000, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
        var proof = await ProveAsync(apps, phone);

        // A's clock runs ahead (here: to just before the proof's end); B's is right.
        clocks[0].Offset = TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1);
        var first = await SignupAsync(apps.ClientA, phone, proof);
        first.StatusCode.Should().Be(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        await Task.Delay(TimeSpan.FromSeconds(2));

        var second = await SignupAsync(apps.ClientB, phone, proof);

        await second.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    private static async Task<string> ProveAsync(TwoInstances apps, string phone)
    {
        var start = await apps.ClientA.PostAsJsonAsync(new Uri("/phone-verification/start", UriKind.Relative), new { phone, deviceId = Device });
        var flowId = (await start.ShouldHaveJsonAsync(HttpStatusCode.Accepted)).GetProperty("flowId").GetString();
        var message = (await apps.A.ReadOutboxAsync(phone)).First(m => m.Purpose == "phone_verification");
        var code = System.Text.RegularExpressions.Regex.Match(message.Body, @"\b\d{4,10}\b").Value;
        var verify = await apps.ClientA.PostAsJsonAsync(new Uri("/phone-verification/verify", UriKind.Relative), new { phone, code, flowId, deviceId = Device });
        return (await verify.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("phoneProof").GetString()!;
    }

    private static Task<HttpResponseMessage> SignupAsync(HttpClient client, string phone, string proof)
        => client.PostAsJsonAsync(new Uri("/signup/start", UriKind.Relative), new { phone, deviceId = Device, phoneProof = proof, password = TestData.Password, name = "Ana" });

    /// <summary>The system clock shifted by a settable offset.</summary>
    private sealed class OffsetClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }
}
