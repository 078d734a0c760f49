using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>CONTRACT.md, "Passwordless sign-in": start like password-reset start, verify like signup verify.</summary>
public sealed class SignInByCodeTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Verify_RegisteredEmailRightCode_Returns200TokensThatOpenApiMe()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);

        var response = await VerifyAsync("email", email, code, flowId);

        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        json.GetProperty("email").GetString().Should().Be(email);
        var me = await _client.GetMeAsync(json.GetProperty("accessToken").GetString());
        (await me.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("email").GetString().Should().Be(email);
    }

    [Fact]
    public async Task Verify_UseCookies_SetsTheAuthCookie()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);

        var response = await VerifyAsync("email", email, code, flowId, useCookies: true);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Set-Cookie").Should().Contain(c => c.Contains("httponly", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Verify_RegisteredPhoneRightCode_Returns200ForThePhoneAccount()
    {
        var phone = FlowsApi.UniquePhone();
        await app.SignUpByPhoneAsync(_client, phone);
        var (flowId, code) = await StartAsync("phone", phone);

        var json = await (await VerifyAsync("phone", phone, code, flowId)).ShouldHaveJsonAsync(HttpStatusCode.OK);

        json.GetProperty("phone").GetString().Should().Be(phone);
        json.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task Start_UnknownAddress_Returns202AndSendsNothing()
    {
        var email = TestData.Email("signin-unknown");

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Start_RegisteredVersusUnknown_SameStatusHeadersAndBody()
    {
        var registered = await RegisteredEmailAsync();
        var unknown = TestData.Email("signin-enum");

        var a = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = registered })).SnapshotAsync();
        var b = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = unknown })).SnapshotAsync();

        a.Should().Be(b);
        a.Status.Should().Be(202);
    }

    [Fact]
    public async Task Start_RegisteredVersusUnknownWithinCooldown_SameStatusHeadersAndBody()
    {
        var registered = await RegisteredEmailAsync();
        var unknown = TestData.Email("signin-enum-again");
        await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = registered });
        await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = unknown });

        var a = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = registered })).SnapshotAsync();
        var b = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = unknown })).SnapshotAsync();

        a.Should().Be(b);
        a.Status.Should().Be(429);
    }

    [Fact]
    public async Task Verify_WrongCodeRegisteredVersusUnknown_SameAnswerWithAttemptsRemaining()
    {
        var registered = await RegisteredEmailAsync();
        var unknown = TestData.Email("signin-enum-verify");
        var (flowA, code) = await StartAsync("email", registered);
        var flowB = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = unknown })).FlowIdAsync();

        var a = await (await VerifyAsync("email", registered, TestData.WrongCode(code), flowA)).SnapshotAsync();
        var b = await (await VerifyAsync("email", unknown, TestData.WrongCode(code), flowB)).SnapshotAsync();

        a.Should().Be(b);
        a.Body.Should().Contain("\"attemptsRemaining\":4");
    }

    [Fact]
    public async Task Verify_WrongCode_Returns400InvalidCode()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);

        (await (await VerifyAsync("email", email, TestData.WrongCode(code), flowId)).ShouldBeInvalidCodeAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Verify_AfterFiveWrongCodes_Returns400MaxAttempts()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);
        for (var i = 1; i <= 5; i++)
        {
            await VerifyAsync("email", email, TestData.WrongCode(code, i), flowId);
        }

        await (await VerifyAsync("email", email, code, flowId)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Fact]
    public async Task Verify_AfterLifetime_Returns400CodeExpired()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);
        app.Clock.Advance(TimeSpan.FromMinutes(11));

        await (await VerifyAsync("email", email, code, flowId)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "code_expired");
    }

    [Fact]
    public async Task Verify_StaleFlowAfterRestart_Returns400FlowExpired()
    {
        var email = await RegisteredEmailAsync();
        var (stale, _) = await StartAsync("email", email);
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        var (_, code) = await StartAsync("email", email);

        await (await VerifyAsync("email", email, code, stale)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Verify_UsedTwice_SecondReturns400FlowExpired()
    {
        var email = await RegisteredEmailAsync();
        var (flowId, code) = await StartAsync("email", email);
        (await VerifyAsync("email", email, code, flowId)).StatusCode.Should().Be(HttpStatusCode.OK);

        await (await VerifyAsync("email", email, code, flowId)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Verify_OtherDevice_Returns400DeviceMismatch()
    {
        var email = await RegisteredEmailAsync();
        var flowId = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email, ["deviceId"] = "dev-a" })).FlowIdAsync();
        var code = await app.ReadCodeAsync(email, "sign_in");

        await (await VerifyAsync("email", email, code, flowId, deviceId: "dev-b")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "device_mismatch");
    }

    [Theory]
    [InlineData("flowId")]
    [InlineData("code")]
    public async Task Verify_MissingField_Returns400Validation(string field)
    {
        var body = new Dictionary<string, string?> { ["email"] = TestData.Email("signin-missing"), ["code"] = "123456", ["flowId"] = "abc" };
        body[field] = null;

        await (await _client.PostBodyAsync("/signin/code/verify", body)).ShouldBeValidationProblemAsync(field);
    }

    [Fact]
    public async Task Start_NoAddress_Returns400ValidationOnEmail()
    {
        await (await _client.PostBodyAsync("/signin/code/start", new())).ShouldBeValidationProblemAsync("email");
    }

    [Fact]
    public async Task Start_SixthWithinTheHour_Returns429RateLimited()
    {
        var email = await RegisteredEmailAsync();
        for (var i = 0; i < 5; i++)
        {
            await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Verify_LockedOutUserRightCode_Returns400InvalidCodeAndNoTokens()
    {
        var email = await RegisteredEmailAsync();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = await users.FindByNameAsync(email);
            await users.SetLockoutEnabledAsync(user!, true);
            await users.SetLockoutEndDateAsync(user!, DateTimeOffset.UtcNow.AddYears(1));
        }

        var (flowId, code) = await StartAsync("email", email);

        var response = await VerifyAsync("email", email, code, flowId);

        (await response.ShouldBeInvalidCodeAsync()).Should().Be(4, "the count a wrong first guess reports (MaxAttempts 5), not the one from before the guess");
        (await response.Content.ReadAsStringAsync()).Should().NotContain("accessToken");
    }

    private async Task<string> RegisteredEmailAsync()
    {
        var email = TestData.Email("signin");
        await app.CreateUserAsync(email, TestData.Password);
        return email;
    }

    private async Task<(string FlowId, string Code)> StartAsync(string field, string address)
    {
        var flowId = await (await _client.PostBodyAsync("/signin/code/start", new() { [field] = address })).FlowIdAsync();
        return (flowId, await app.ReadCodeAsync(address, "sign_in"));
    }

    private Task<HttpResponseMessage> VerifyAsync(string field, string address, string code, string flowId, bool useCookies = false, string? deviceId = null)
        => _client.PostBodyAsync(useCookies ? "/signin/code/verify?useCookies=true" : "/signin/code/verify", new() { [field] = address, ["code"] = code, ["flowId"] = flowId, ["deviceId"] = deviceId });
}
