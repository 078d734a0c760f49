using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>CONTRACT.md, "Verify a phone first, register after": the phone proof and signup with it.</summary>
public sealed class PhoneVerificationTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const string Device = "device-uuid-001";
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_ValidPhone_Returns202AndTextsACode()
    {
        var phone = FlowsApi.UniquePhone();

        var response = await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device });

        await response.ShouldBeAcceptedAsync();
        (await app.ReadOutboxAsync(phone)).Should().ContainSingle(m => m.Channel == "sms" && m.Purpose == "phone_verification");
    }

    [Fact]
    public async Task Verify_RightCode_Returns200WithAProofFor900Seconds()
    {
        var phone = FlowsApi.UniquePhone();
        var flowId = await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).FlowIdAsync();

        var response = await _client.PostBodyAsync("/phone-verification/verify", new() { ["phone"] = phone, ["code"] = await app.ReadCodeAsync(phone, "phone_verification"), ["flowId"] = flowId, ["deviceId"] = Device });

        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        json.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("phoneProof", "expiresIn");
        json.GetProperty("expiresIn").GetInt64().Should().Be(900);
        json.GetProperty("phoneProof").GetString().Should().NotContain(phone[1..], "the proof is encrypted, not readable");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
    }

    [Theory]
    [InlineData(null, Device, "phone")]
    [InlineData("12345", Device, "phone")]
    [InlineData("+14155550123", null, "deviceId")]
    public async Task Start_MissingOrBadField_Returns400Validation(string? phone, string? deviceId, string field)
    {
        var response = await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = deviceId });

        await response.ShouldBeValidationProblemAsync(field);
    }

    [Theory]
    [InlineData("flowId")]
    [InlineData("code")]
    [InlineData("deviceId")]
    public async Task Verify_MissingField_Returns400Validation(string field)
    {
        var body = new Dictionary<string, string?> { ["phone"] = FlowsApi.UniquePhone(), ["code"] = "123456", ["flowId"] = "abc", ["deviceId"] = Device };
        body[field] = null;

        var response = await _client.PostBodyAsync("/phone-verification/verify", body);

        await response.ShouldBeValidationProblemAsync(field);
    }

    [Fact]
    public async Task Verify_WrongCode_Returns400InvalidCodeWithAttemptsRemaining()
    {
        var (phone, flowId, code) = await StartAsync();

        var left = await (await VerifyAsync(phone, TestData.WrongCode(code), flowId)).ShouldBeInvalidCodeAsync();

        left.Should().Be(4);
    }

    [Fact]
    public async Task Verify_FiveWrongCodes_ThenRightCode_Returns400MaxAttempts()
    {
        var (phone, flowId, code) = await StartAsync();
        for (var i = 1; i <= 5; i++)
        {
            await VerifyAsync(phone, TestData.WrongCode(code, i), flowId);
        }

        await (await VerifyAsync(phone, code, flowId)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Fact]
    public async Task Verify_AfterLifetime_Returns400CodeExpired()
    {
        var (phone, flowId, code) = await StartAsync();
        app.Clock.Advance(TimeSpan.FromMinutes(11));

        await (await VerifyAsync(phone, code, flowId)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "code_expired");
    }

    [Fact]
    public async Task Verify_OtherDevice_Returns400DeviceMismatch()
    {
        var (phone, flowId, code) = await StartAsync();

        await (await VerifyAsync(phone, code, flowId, "another-device")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "device_mismatch");
    }

    [Fact]
    public async Task Verify_StaleFlowAfterRestart_Returns400FlowExpired()
    {
        var (phone, staleFlow, _) = await StartAsync();
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).FlowIdAsync();
        var code = await app.ReadCodeAsync(phone, "phone_verification");

        await (await VerifyAsync(phone, code, staleFlow)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Start_AgainWithinCooldown_Returns429TooFrequent()
    {
        var (phone, _, _) = await StartAsync();

        await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).ShouldBeTooManyRequestsAsync("too_frequent");
    }

    [Fact]
    public async Task Start_SixthWithinTheHour_Returns429RateLimited()
    {
        var phone = FlowsApi.UniquePhone();
        for (var i = 0; i < 5; i++)
        {
            await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task SignupWithProof_Valid_Returns200AndCreatesAPhoneVerifiedUser()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        var response = await _client.SignupWithProofAsync(phone, Device, proof);

        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        json.GetProperty("accessToken").GetString().Should().NotBeNullOrEmpty();
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        await using var scope = app.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>().FindByNameAsync(phone);
        user!.PhoneNumberConfirmed.Should().BeTrue();
        (await app.ReadOutboxAsync(phone)).Should().ContainSingle("no second code is sent");
    }

    [Fact]
    public async Task SignupWithProof_UseCookies_SetsTheAuthCookie()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        var response = await _client.SignupWithProofAsync(phone, Device, proof, useCookies: true);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Set-Cookie").Should().Contain(c => c.Contains("httponly", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task SignupWithProof_UsedTwice_SecondReturns400InvalidProof()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);
        (await _client.SignupWithProofAsync(phone, Device, proof)).StatusCode.Should().Be(HttpStatusCode.OK);

        await (await _client.SignupWithProofAsync(phone, Device, proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_Forged_Returns400InvalidProof()
    {
        await (await _client.SignupWithProofAsync(FlowsApi.UniquePhone(), Device, "CfDJ8forged-proof-that-no-key-ring-made")).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_OneCharacterAltered_Returns400InvalidProof()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);
        var i = proof.Length / 2;
        var altered = proof[..i] + (proof[i] == 'A' ? 'B' : 'A') + proof[(i + 1)..];

        await (await _client.SignupWithProofAsync(phone, Device, altered)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_ForAnotherPhone_Returns400InvalidProof()
    {
        var proof = await app.ProvePhoneAsync(_client, FlowsApi.UniquePhone(), Device);

        await (await _client.SignupWithProofAsync(FlowsApi.UniquePhone(), Device, proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_FromAnotherDevice_Returns400InvalidProof()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        await (await _client.SignupWithProofAsync(phone, "another-device", proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_AfterFifteenMinutes_Returns400InvalidProof()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);
        app.Clock.Advance(TimeSpan.FromMinutes(15));

        await (await _client.SignupWithProofAsync(phone, Device, proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    [Fact]
    public async Task SignupWithProof_ExpiredProofIsNotBurnt_FreshOneStillWorks()
    {
        // An invalid proof is refused before the store is asked: it does not use up anything.
        var phone = FlowsApi.UniquePhone();
        await (await _client.SignupWithProofAsync(phone, "another-device", await app.ProvePhoneAsync(_client, phone, Device))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
        app.Clock.Advance(TimeSpan.FromSeconds(61));

        var response = await _client.SignupWithProofAsync(phone, Device, await app.ProvePhoneAsync(_client, phone, Device));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SignupWithProof_WithoutDevice_Returns400ValidationOnDeviceId()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        await (await _client.SignupWithProofAsync(phone, null, proof)).ShouldBeValidationProblemAsync("deviceId");
    }

    [Fact]
    public async Task SignupWithProof_WeakPassword_Returns400ValidationAndKeepsTheProof()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);
        var weak = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["deviceId"] = Device, ["phoneProof"] = proof, ["password"] = TestData.WeakPassword, ["name"] = "Ana" });
        await weak.ShouldBeValidationProblemAsync("password");

        (await _client.SignupWithProofAsync(phone, Device, proof)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SignupWithProof_RegisteredPhone_Returns409EmailTaken()
    {
        var phone = FlowsApi.UniquePhone();
        await app.SignUpByPhoneAsync(_client, phone);
        app.Clock.Advance(TimeSpan.FromSeconds(61)); // the phone's cooldown is shared with SMS signup
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        await (await _client.SignupWithProofAsync(phone, Device, proof)).ShouldBeProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task SignupWithProof_HundredParallelUses_ExactlyOneUserIsCreated()
    {
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(_client, phone, Device);

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => _client.SignupWithProofAsync(phone, Device, proof)));

        answers.Count(a => a.StatusCode == HttpStatusCode.OK).Should().Be(1);
        answers.Where(a => a.StatusCode != HttpStatusCode.OK).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.BadRequest);
    }

    private async Task<(string Phone, string FlowId, string Code)> StartAsync()
    {
        var phone = FlowsApi.UniquePhone();
        var flowId = await (await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).FlowIdAsync();
        return (phone, flowId, await app.ReadCodeAsync(phone, "phone_verification"));
    }

    private Task<HttpResponseMessage> VerifyAsync(string phone, string code, string flowId, string device = Device)
        => _client.PostBodyAsync("/phone-verification/verify", new() { ["phone"] = phone, ["code"] = code, ["flowId"] = flowId, ["deviceId"] = device });
}
