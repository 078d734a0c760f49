using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>SECURITY.md, "SMS pumping": the <c>Abuse:SmsCountryCodes</c> allow-list at start.</summary>
public sealed class SmsCountryTests(SmsCountryTests.AllowListAppFactory app) : IClassFixture<SmsCountryTests.AllowListAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Theory]
    [InlineData("sms")]
    [InlineData("email")]
    public async Task Start_PhoneOutsideSmsCountryCodes_Returns400ValidationOnPhone(string channel)
    {
        var response = await _client.StartSignupAsync(TestData.Email("sms-country"), phone: "+33612345678", channel: channel);

        await response.ShouldBeValidationProblemAsync("phone");
    }

    [Fact]
    public async Task Start_PhoneOutsideSmsCountryCodes_SendsNothing()
    {
        var email = TestData.Email("sms-country-nothing");

        await _client.StartSignupAsync(email, phone: "+33612345679", channel: "sms");

        (await app.ReadOutboxAsync("+33612345679")).Should().BeEmpty();
        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Start_PhoneInsideSmsCountryCodes_SendsTheSms()
    {
        await (await _client.StartSignupAsync(TestData.Email("sms-country-ok"), phone: "+14155550150", channel: "sms")).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync("+14155550150")).Should().ContainSingle(m => m.Channel == "sms");
    }

    /// <summary>The sample with SMS allowed to +1 and +44 only.</summary>
    public sealed class AllowListAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public AllowListAppFactory()
        {
            WithSetting("OtpSignup:Abuse:SmsCountryCodes:0", "1");
            WithSetting("OtpSignup:Abuse:SmsCountryCodes:1", "44");
        }
    }
}

/// <summary>SECURITY.md, "SMS pumping": past <c>Abuse:MaxSmsPerHour</c> app-wide, SMS is skipped and the email fallback used.</summary>
public sealed class SmsBudgetTests(SmsBudgetTests.SmallBudgetAppFactory app) : IClassFixture<SmsBudgetTests.SmallBudgetAppFactory>
{
    private const int Budget = 3;
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_SmsPastTheAppWideBudget_SkipsSmsAndFallsBackToEmail()
    {
        for (var i = 0; i < Budget; i++)
        {
            var phone = $"+1415555{i:0000}";
            await (await _client.StartSignupAsync(TestData.Email("sms-budget"), phone: phone, channel: "sms")).ShouldBeAcceptedAsync();
            (await app.ReadOutboxAsync(phone)).Should().ContainSingle(m => m.Channel == "sms", "the budget is not used up yet");
        }

        var email = TestData.Email("sms-budget-over");
        var start = await _client.StartSignupAsync(email, phone: "+14155559999", channel: "sms");

        await start.ShouldBeAcceptedAsync();
        (await app.ReadOutboxAsync("+14155559999")).Should().BeEmpty("the app-wide SMS budget is used up");
        (await app.ReadOutboxAsync(email)).Should().ContainSingle(m => m.Channel == "email" && m.Purpose == "signup");
        (await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email))).StatusCode.Should().Be(HttpStatusCode.OK, "the code sent by the email fallback works");
    }

    /// <summary>The sample with an app-wide budget of three SMS per hour.</summary>
    public sealed class SmallBudgetAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public SmallBudgetAppFactory() => WithSetting("OtpSignup:Abuse:MaxSmsPerHour", Budget.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
