using System.Globalization;
using OtpVerification.Senders;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>The language and the WebOTP host of a message are the request's, fixed when the code is asked for.</summary>
public sealed class OtpEngineWordingTests
{
    private static OtpStartRequest SmsStart(CultureInfo? culture, string? host) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = EngineHarness.Address,
        Destinations = [new OtpDestination(OtpChannel.Sms, EngineHarness.Phone)],
        Payload = [1],
        Culture = culture,
        WebOtpHost = host,
    };

    [Fact]
    public async Task Start_WithACulture_TheMessageCarriesIt()
    {
        using var h = new EngineHarness();

        await h.StartWithAsync(SmsStart(CultureInfo.GetCultureInfo("es-MX"), null));

        h.Sms.Messages.Should().ContainSingle().Which.Culture.Name.Should().Be("es-MX");
    }

    [Fact]
    public async Task Start_WithoutACulture_TheMessageIsInTheConfiguredDefault()
    {
        using var h = new EngineHarness(o => o.Messages.Culture = "es");

        await h.StartWithAsync(SmsStart(null, null));

        h.Sms.Messages.Should().ContainSingle().Which.Culture.Name.Should().Be("es");
    }

    [Theory]
    [InlineData(null, "app.example.com", "app.example.com")]
    [InlineData("configured.example.com", "app.example.com", "configured.example.com")]
    [InlineData(null, "bad host #1", null)]
    [InlineData(null, null, null)]
    public async Task Start_Sms_WebOtpHostIsTheConfiguredOneElseTheRequestsValidHost(string? configured, string? requestHost, string? expected)
    {
        using var h = new EngineHarness(o => o.Messages.WebOtpHost = configured);

        await h.StartWithAsync(SmsStart(null, requestHost));

        h.Sms.Messages.Should().ContainSingle().Which.WebOtpHost.Should().Be(expected);
    }

    [Fact]
    public async Task Resend_WithACultureAndHost_TheMessageCarriesThem()
    {
        using var h = new EngineHarness();
        await h.StartWithAsync(SmsStart(null, null));
        h.Time.Advance(TimeSpan.FromMinutes(2));

        await h.Engine.ResendAsync(new OtpResendRequest { Purpose = OtpPurpose.Signup, Address = EngineHarness.Address, Culture = CultureInfo.GetCultureInfo("es"), WebOtpHost = "app.example.com" });

        var resent = h.Sms.Messages[^1];
        new { Culture = resent.Culture.Name, resent.WebOtpHost }.Should().BeEquivalentTo(new { Culture = "es", WebOtpHost = "app.example.com" });
    }

    [Fact]
    public async Task Start_EmailDestination_CarriesNoWebOtpHost()
    {
        using var h = new EngineHarness();

        await h.StartWithAsync(new OtpStartRequest
        {
            Purpose = OtpPurpose.Signup,
            Address = EngineHarness.Address,
            Destinations = [new OtpDestination(OtpChannel.Email, EngineHarness.Address)],
            Payload = [1],
            WebOtpHost = "app.example.com",
        });

        h.Email.Messages.Should().ContainSingle().Which.WebOtpHost.Should().BeNull();
    }
}
