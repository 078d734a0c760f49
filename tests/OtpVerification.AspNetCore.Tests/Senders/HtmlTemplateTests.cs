using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class HtmlTemplateTests
{
    [Fact]
    public void Format_AppNameWithScriptTag_HtmlEncodesIt()
    {
        var message = SenderTestKit.Message("user@example.test", OtpChannel.Email, appName: "<script>alert('x')</script>");

        var html = new DefaultOtpMessageFormatter().Format(message).HtmlBody;

        html.Should().NotContain("<script>").And.Contain("&lt;script&gt;");
    }
}
