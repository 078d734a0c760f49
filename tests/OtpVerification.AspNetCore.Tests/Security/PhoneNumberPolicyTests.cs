using Microsoft.Extensions.DependencyInjection;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// Hole 9 of issue 13: the SMS allow-list matched calling-code prefixes ("1" admitted every NANP
/// country, Caribbean toll-fraud ranges included) and premium-rate numbers were texted like any
/// other. Numbers are now parsed on libphonenumber's plans, by region and number type.
/// </summary>
public sealed class PhoneNumberPolicyTests
{
    [Theory]
    [InlineData("+1 (415) 555-0123", "+14155550123")]
    [InlineData("0044 7400 123456", "+447400123456")]
    [InlineData("+91 98765 43210", "+919876543210")]
    public void Normalize_ValidInternationalNumber_GivesE164(string typed, string e164)
    {
        var phones = Create(new OtpAbuseOptions());

        phones.TryNormalize(typed, out var normalized).Should().BeTrue();

        normalized.Should().Be(e164);
    }

    [Theory]
    [InlineData("4155550123")]
    [InlineData("+1 555 0123")]
    [InlineData("+999 1234 5678")]
    [InlineData("+44 7400 12345678901")]
    [InlineData("+1 415 555 O123")]
    public void Normalize_NotAValidNumberOnItsPlan_IsRefused(string typed)
    {
        Create(new OtpAbuseOptions()).TryNormalize(typed, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("+18765550123", false)] // Jamaica: calling code 1, region JM
    [InlineData("+18095550123", false)] // Dominican Republic
    [InlineData("+14155550123", true)]  // San Francisco, US
    public void AllowsSms_RegionsUS_AdmitsTheUsOnlyNotTheRestOfCallingCode1(string e164, bool allowed)
    {
        var phones = Create(new OtpAbuseOptions { SmsRegions = ["US"] });

        phones.AllowsSms(e164).Should().Be(allowed);
    }

    [Theory]
    [InlineData("+447400123456", true)]   // UK mobile
    [InlineData("+449098790000", false)]  // UK premium rate
    [InlineData("+448431234567", false)]  // UK shared cost
    [InlineData("+445612345678", false)]  // UK VoIP
    [InlineData("+448001234567", false)]  // UK toll free
    public void AllowsSms_ByDefault_MobileOnly(string e164, bool allowed)
    {
        Create(new OtpAbuseOptions()).AllowsSms(e164).Should().Be(allowed);
    }

    [Fact]
    public void AllowsSms_VoipListed_AdmitsVoip()
    {
        Create(new OtpAbuseOptions { SmsNumberTypes = ["Mobile", "Voip"] }).AllowsSms("+445612345678").Should().BeTrue();
    }

    [Fact]
    public async Task Start_PremiumRatePhoneForSms_Returns400ValidationOnPhoneAndSendsNothing()
    {
        await using var app = new SampleAppFactory();
        using var client = app.CreateClient();
        var email = TestData.Email("premium");

        var response = await client.StartSignupAsync(email, phone: "+449098790000", channel: "sms");

        await response.ShouldBeValidationProblemAsync("phone");
        (await app.ReadOutboxAsync("+449098790000")).Should().BeEmpty();
    }

    [Fact]
    public async Task Start_RegionNotAllowed_Returns400ValidationOnPhone()
    {
        await using var app = new SampleAppFactory().WithSetting("OtpSignup:Abuse:SmsRegions:0", "US");
        using var client = app.CreateClient();

        var response = await client.StartSignupAsync(TestData.Email("jamaica"), phone: "+18765550123", channel: "sms");

        await response.ShouldBeValidationProblemAsync("phone");
    }

    [Fact]
    public void Options_BadRegionOrType_FailValidationNamingTheKey()
    {
        using var services = Microsoft.Extensions.DependencyInjection.OtpVerificationServiceCollectionExtensions.AddOtpVerification(new Microsoft.Extensions.DependencyInjection.ServiceCollection(), o => o.Abuse = new OtpAbuseOptions { SmsRegions = ["USA"], SmsNumberTypes = ["Cellular"] }).Services.BuildServiceProvider();

        var read = () => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>(services).Value;

        read.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message.Should().Contain("OtpSignup:Abuse:SmsRegions").And.Contain("OtpSignup:Abuse:SmsNumberTypes");
    }

    private static LibPhoneNumberOtpPhoneNumbers Create(OtpAbuseOptions abuse)
        => new(new StaticOptionsMonitor(new OtpVerificationOptions { Abuse = abuse }));

    private sealed class StaticOptionsMonitor(OtpVerificationOptions value) : Microsoft.Extensions.Options.IOptionsMonitor<OtpVerificationOptions>
    {
        public OtpVerificationOptions CurrentValue => value;

        public OtpVerificationOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<OtpVerificationOptions, string?> listener) => null;
    }
}
