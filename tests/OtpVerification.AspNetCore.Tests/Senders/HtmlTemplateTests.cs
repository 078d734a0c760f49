using System.Globalization;
using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class HtmlTemplateTests
{
    private static readonly CultureInfo Spanish = CultureInfo.GetCultureInfo("es");

    [Fact]
    public void Format_AppNameWithScriptTag_HtmlEncodesIt()
    {
        var message = SenderTestKit.Message("user@example.test", OtpChannel.Email, appName: "<script>alert('x')</script>");

        var html = new DefaultOtpMessageFormatter().Format(message).HtmlBody;

        html.Should().NotContain("<script>").And.Contain("&lt;script&gt;");
    }

    [Fact]
    public void Format_Email_HasATextAndAnHtmlPartWithTheCodeExpiryAppNameAndNotYouLine()
    {
        var message = SenderTestKit.Message("user@example.test", OtpChannel.Email, code: "042137", appName: "Contoso & Co");

        var formatted = new DefaultOtpMessageFormatter().Format(message);

        formatted.TextBody.Should().Contain("042137").And.Contain("10 minutes").And.Contain("Not you?").And.Contain("Contoso & Co");
        formatted.HtmlBody.Should().Contain(">042137</td>").And.Contain("It expires in 10 minutes.").And.Contain("Not you?")
            .And.Contain("Contoso &amp; Co").And.Contain("style=\"", "the CSS is inline, as mail clients need");
    }

    [Fact]
    public void Format_EmailInSpanish_SaysCodigoInSubjectTextAndHtml()
    {
        var message = With(SenderTestKit.Message("user@example.test", OtpChannel.Email), Spanish);

        var formatted = new DefaultOtpMessageFormatter().Format(message);

        formatted.Subject.Should().Contain("código");
        formatted.TextBody.Should().Contain("código").And.Contain("Caduca en 10 minutos");
        formatted.HtmlBody.Should().Contain("código").And.Contain("lang=\"es\"");
    }

    [Fact]
    public void Format_SmsInSpanishWithHost_SaysCodigoAndEndsWithTheWebOtpLine()
    {
        var message = With(SenderTestKit.Message("+14155550123", OtpChannel.Sms, code: "123456"), Spanish, "App.Example.com");

        var sms = new DefaultOtpMessageFormatter().Format(message);

        sms.TextBody.Should().Contain("código").And.EndWith("\n\n@app.example.com #123456");
        sms.HtmlBody.Should().BeNull();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("evil.example.com #000000\n@other")]
    [InlineData("https://app.example.com")]
    public void Format_SmsWithoutAUsableHost_HasNoWebOtpLine(string? host)
    {
        var message = With(SenderTestKit.Message("+14155550123", OtpChannel.Sms, code: "123456"), CultureInfo.GetCultureInfo("en"), host);

        var sms = new DefaultOtpMessageFormatter().Format(message).TextBody;

        sms.Should().NotContain("@").And.NotContain("#");
    }

    [Fact]
    public void Format_UnsupportedCulture_FallsBackToEnglish()
    {
        var message = With(SenderTestKit.Message("user@example.test", OtpChannel.Email), CultureInfo.GetCultureInfo("fr-FR"));

        var formatted = new DefaultOtpMessageFormatter().Format(message);

        formatted.Subject.Should().EndWith(": your verification code");
    }

    private static OtpMessage With(OtpMessage message, CultureInfo culture, string? webOtpHost = null) => new()
    {
        To = message.To,
        Channel = message.Channel,
        Purpose = message.Purpose,
        Code = message.Code,
        ExpiresIn = message.ExpiresIn,
        SentAt = message.SentAt,
        AppName = message.AppName,
        Culture = culture,
        WebOtpHost = webOtpHost,
    };
}
