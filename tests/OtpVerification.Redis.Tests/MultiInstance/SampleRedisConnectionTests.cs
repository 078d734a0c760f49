using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Redis.Tests.Infrastructure;
using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>
/// The sample with <c>OtpSignup:Store=Redis</c> on a Redis Cluster given as
/// <c>ConnectionStrings:Redis=n1:p1,n2:p2,n3:p3</c>: two instances, signups whose keys fall on
/// every master.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SampleOnRedisClusterTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task Signup_OnAClusterConnectionString_StartsOnOneInstanceAndVerifiesOnTheOther()
    {
        await using var apps = TwoInstances.Start(cluster);
        var emails = Enumerable.Range(0, 12).Select(_ => TestData.Email("cluster")).ToArray();

        foreach (var email in emails)
        {
            await (await apps.ClientA.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            await (await apps.ClientB.VerifySignupAsync(email, await apps.A.ReadCodeAsync(email))).ShouldHaveJsonAsync(HttpStatusCode.OK);
        }

        (await apps.A.CountUsersAsync()).Should().Be(emails.Length);
    }
}

/// <summary>
/// The sample with <c>OtpSignup:Store=Redis</c>, no <c>ConnectionStrings:Redis</c>, and an
/// <see cref="IConnectionMultiplexer"/> the app registered itself: the store shares it.
/// </summary>
public sealed class SampleOnAppMultiplexerTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Signup_WithTheAppsOwnMultiplexer_StoresInThatRedisAndVerifiesOnTheOtherInstance()
    {
        var multiplexer = await redis.ConnectAsync();
        await using var apps = TwoInstances.Start(
            redis,
            new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = null },
            services => services.AddSingleton<IConnectionMultiplexer>(multiplexer));
        var email = TestData.Email("shared");

        await (await apps.ClientA.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var keys = (RedisResult[])(await redis.AdminAsync("KEYS", "otp:{signup:*"))!;
        await (await apps.ClientB.VerifySignupAsync(email, await apps.A.ReadCodeAsync(email))).ShouldHaveJsonAsync(HttpStatusCode.OK);

        keys.Should().NotBeEmpty("the pending registration went to the app's Redis");
    }
}
