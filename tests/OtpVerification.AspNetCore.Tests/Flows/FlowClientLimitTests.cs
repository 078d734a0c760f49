using System.Net;
using System.Text.Json;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.AspNetCore.Tests.Security;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>
/// The per-client send limit (<c>Abuse:MaxSendsPerClientPerHour</c>, 30) covers phone-verification
/// start and sign-in start as it covers signup: one allowance per client IP across every purpose.
/// </summary>
public sealed class FlowClientLimitTests(SendLimitTests.ClientIpAppFactory app) : IClassFixture<SendLimitTests.ClientIpAppFactory>
{
    private const int MaxSendsPerClientPerHour = 30;

    [Fact]
    public async Task PhoneVerificationStart_AfterTheClientLimit_Returns429RateLimited()
    {
        var client = app.CreateClientFrom("198.51.100.20");
        for (var i = 0; i < MaxSendsPerClientPerHour; i++)
        {
            await (await client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = FlowsApi.UniquePhone(), ["deviceId"] = "dev" })).ShouldBeAcceptedAsync();
        }

        await (await client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = FlowsApi.UniquePhone(), ["deviceId"] = "dev" })).ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task SignInStart_AfterTheClientLimitWithSignups_Returns429RateLimited()
    {
        var client = app.CreateClientFrom("198.51.100.21");
        for (var i = 0; i < MaxSendsPerClientPerHour; i++)
        {
            await (await client.StartSignupAsync(TestData.Email("flow-client"))).ShouldBeAcceptedAsync();
        }

        await (await client.PostBodyAsync("/signin/code/start", new() { ["email"] = TestData.Email("flow-client-signin") })).ShouldBeTooManyRequestsAsync("rate_limited");
    }
}

/// <summary>The OpenAPI document describes the new operations and their problem codes.</summary>
public sealed class FlowOpenApiTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    [Theory]
    [InlineData("/signup/start", "400", "invalid_proof")]
    [InlineData("/phone-verification/start", "429", "too_frequent")]
    [InlineData("/phone-verification/verify", "400", "device_mismatch")]
    [InlineData("/signin/code/start", "429", "rate_limited")]
    [InlineData("/signin/code/verify", "400", "invalid_code")]
    public async Task Document_Operation_ListsTheProblemCode(string path, string status, string code)
    {
        var json = await (await app.CreateClient().GetAsync(new Uri("/openapi/v1.json", UriKind.Relative))).ShouldHaveJsonAsync(HttpStatusCode.OK);

        var codes = json.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("x-problem-codes").GetProperty(status);

        codes.EnumerateArray().Select(c => c.GetString()).Should().Contain(code);
        codes.ValueKind.Should().Be(JsonValueKind.Array);
    }
}
