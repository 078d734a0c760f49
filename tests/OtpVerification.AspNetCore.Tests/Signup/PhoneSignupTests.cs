using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>Signup with <c>channel: "sms"</c>.</summary>
public sealed class PhoneSignupTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_SmsChannelWithPhone_SendsSmsToTheE164Number()
    {
        var phone = UniquePhone(out var typed);

        await (await _client.StartSignupAsync(TestData.Email("sms"), phone: typed, channel: "sms")).ShouldBeAcceptedAsync();

        var message = (await app.ReadOutboxAsync(phone)).Should().ContainSingle().Subject;
        message.Channel.Should().Be("sms");
        message.To.Should().Be(phone);
        message.Purpose.Should().Be("signup");
    }

    [Fact]
    public async Task Start_SmsChannelWithPhone_SendsNoEmail()
    {
        var email = TestData.Email("sms-noemail");
        UniquePhone(out var typed);

        await (await _client.StartSignupAsync(email, phone: typed, channel: "sms")).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Verify_CodeFromSms_Returns200()
    {
        var email = TestData.Email("sms-verify");
        var phone = UniquePhone(out var typed);
        await (await _client.StartSignupAsync(email, phone: typed, channel: "sms")).ShouldBeAcceptedAsync();

        var response = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(phone));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Start_SmsChannelWithoutPhone_Returns400ValidationOnPhone(string? phone)
    {
        var response = await _client.StartSignupAsync(TestData.Email("sms-nophone"), phone: phone, channel: "sms");

        await response.ShouldBeValidationProblemAsync("phone");
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("4155550123")]
    [InlineData("+0123456789")]
    [InlineData("+1 415 555 CALL")]
    [InlineData("+1234567")]
    [InlineData("+1234567890123456")]
    public async Task Start_BadPhone_Returns400ValidationOnPhone(string phone)
    {
        var response = await _client.StartSignupAsync(TestData.Email("sms-badphone"), phone: phone, channel: "sms");

        await response.ShouldBeValidationProblemAsync("phone");
    }

    [Fact]
    public async Task Start_UnknownChannel_Returns400ValidationOnChannel()
    {
        var response = await _client.StartSignupAsync(TestData.Email("fax"), channel: "fax");

        await response.ShouldBeValidationProblemAsync("channel");
    }

    /// <summary>A US number unique to the test, as E.164 and as a user might type it.</summary>
    private static string UniquePhone(out string typed)
    {
        var subscriber = Random.Shared.Next(2_000_000, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture); // an exchange code starts with 2-9 on the North American plan
        typed = $"+1 (415) {subscriber[..3]}-{subscriber[3..]}";
        return "+1415" + subscriber;
    }
}
