using System.Net;
using System.Net.Http.Json;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// CONTRACT.md, "Verify a phone first": the phone proof is single use across every instance that
/// shares the store. Two instances, one Redis, one key ring.
/// </summary>
public sealed class MultiInstancePhoneProofTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Device = "device-uuid-001";

    [Fact]
    public async Task SignupWithProof_IssuedOnAUsedOnBThenOnA_SecondUseIsInvalidProof()
    {
        await using var apps = TwoInstances.Start(redis);
        var phone = UniquePhone();
        var proof = await ProveAsync(apps, phone);

        var first = await SignupAsync(apps.ClientB, phone, proof);
        var second = await SignupAsync(apps.ClientA, phone, proof);

        first.StatusCode.Should().Be(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        await second.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_100ParallelUsesOnTwoInstances_ExactlyOneSucceeds()
    {
        await using var apps = TwoInstances.Start(redis);
        var phone = UniquePhone();
        var proof = await ProveAsync(apps, phone);

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => SignupAsync(apps.Pick(i).Client, phone, proof)));

        answers.Count(a => a.StatusCode == HttpStatusCode.OK).Should().Be(1);
        answers.Where(a => a.StatusCode != HttpStatusCode.OK).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.BadRequest);
        (await apps.A.CountUsersAsync()).Should().Be(1);
    }

    private static string UniquePhone() => "+1415" + Random.Shared.Next(2_000_000, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<string> ProveAsync(TwoInstances apps, string phone)
    {
        var start = await apps.ClientA.PostAsJsonAsync(new Uri("/phone-verification/start", UriKind.Relative), new { phone, deviceId = Device });
        var flowId = (await start.ShouldHaveJsonAsync(HttpStatusCode.Accepted)).GetProperty("flowId").GetString();
        var message = (await apps.A.ReadOutboxAsync(phone)).First(m => m.Purpose == "phone_verification");
        var code = System.Text.RegularExpressions.Regex.Match(message.Body, @"\b\d{4,10}\b").Value;
        var verify = await apps.ClientB.PostAsJsonAsync(new Uri("/phone-verification/verify", UriKind.Relative), new { phone, code, flowId, deviceId = Device });
        return (await verify.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("phoneProof").GetString()!;
    }

    private static Task<HttpResponseMessage> SignupAsync(HttpClient client, string phone, string proof)
        => client.PostAsJsonAsync(new Uri("/signup/start", UriKind.Relative), new { phone, deviceId = Device, phoneProof = proof, password = TestData.Password, name = "Ana" });
}
