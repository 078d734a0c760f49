using System.Net;
using System.Text;
using System.Text.Json;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Requests;

/// <summary>The HTTP details of the contract's conventions (issue 20): duplicate properties, problem types, Retry-After on 503, no-store on tokens.</summary>
public sealed class HttpDetailsTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Theory]
    [InlineData("""{"email":"a-dup@example.com","Email":"b-dup@example.com","password":"S3cure-Passw0rd!","name":"Ana"}""")]
    [InlineData("""{"email":"a-dup@example.com","email":"b-dup@example.com","password":"S3cure-Passw0rd!","name":"Ana"}""")]
    [InlineData("""{"email":"a-dup@example.com","EMAIL":"b-dup@example.com","password":"S3cure-Passw0rd!","name":"Ana"}""")]
    public async Task Start_APropertyGivenTwiceInAnyCase_Returns400AndSendsNothing(string json)
    {
        var response = await _client.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
        (await app.ReadOutboxAsync("a-dup@example.com")).Should().BeEmpty();
        (await app.ReadOutboxAsync("b-dup@example.com")).Should().BeEmpty("a reader taking the last value would send here");
    }

    [Fact]
    public async Task EveryProblemCode_HasItsOwnTypeUri_AndAFixedTitle()
    {
        var email = TestData.Email("types");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var problems = new[]
        {
            await _client.VerifySignupAsync(email, "000000"),
            await _client.VerifySignupAsync(email, "000000", flowId: "AAAAAAAAAAAAAAAAAAAAAA"),
            await _client.StartSignupAsync(email),
            await _client.StartSignupAsync("not-an-email"),
            await _client.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "text/plain")),
        };

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var response in problems)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var code = json.RootElement.GetProperty("code").GetString()!;
            var type = json.RootElement.GetProperty("type").GetString()!;
            type.Should().EndWith("#" + code, "each code has its own type URI");
            type.Should().StartWith("https://");
            seen[code] = type;
        }

        seen.Keys.Should().BeEquivalentTo("invalid_code", "flow_expired", "too_frequent", "validation", "unsupported_media_type");
    }

    [Fact]
    public async Task Verify_Tokens_AreNeverCached()
    {
        var email = TestData.Email("no-store");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
    }

    [Fact]
    public async Task Login_Tokens_AreNeverCached()
    {
        var email = TestData.Email("login-no-store");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.LoginAsync(email, TestData.Password);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
    }

    [Fact]
    public async Task Unavailable_CarriesRetryAfter()
    {
        await using var down = new StoreDownSampleAppFactory();
        using var client = down.CreateClient();

        var response = await client.StartSignupAsync(TestData.Email("retry-after"));

        var json = await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        response.Headers.RetryAfter.Should().NotBeNull();
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(json.GetProperty("retryAfter").GetInt32()));
    }
}
