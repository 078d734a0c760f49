using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.MailKit.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Senders;

/// <summary>What arrives at a real SMTP server (MailDev, plain text: <c>Security=None</c>).</summary>
[Collection(MailDevCollection.Name)]
public sealed class MailKitOtpSenderTests(MailDevFixture mailDev)
{
    private const string From = "no-reply@contoso.test";

    [Fact]
    public async Task SendAsync_SecurityNone_DeliversCodeInTextPart()
    {
        var (message, email) = await SendToMailDevAsync();

        (await mailDev.GetPartsAsync(email))["text/plain"].Should().Contain($"code is {message.Code}.");
    }

    [Fact]
    public async Task SendAsync_SecurityNone_DeliversCodeInHtmlPart()
    {
        var (message, email) = await SendToMailDevAsync();

        (await mailDev.GetPartsAsync(email))["text/html"].Should().Contain($">{message.Code}</td>");
    }

    [Fact]
    public async Task SendAsync_SpanishMessage_ArrivesAsMultipartWithSpanishTextAndHtml()
    {
        var (message, email) = await SendToMailDevAsync(culture: "es-ES");

        var parts = await mailDev.GetPartsAsync(email);
        new
        {
            Subject = email.GetProperty("subject").GetString(),
            ContentType = email.GetProperty("headers").GetProperty("content-type").GetString()?.Split(';')[0],
            Parts = parts.Keys.ToArray(),
        }.Should().BeEquivalentTo(new
        {
            Subject = "Contoso: tu código de verificación",
            ContentType = "multipart/alternative",
            Parts = new[] { "text/plain", "text/html" },
        }, o => o.WithStrictOrdering());
        parts["text/plain"].Should().Contain($"Tu código de Contoso es {message.Code}.").And.Contain("Caduca en 10 minutos.");
        parts["text/html"].Should().Contain("<html lang=\"es-ES\">").And.Contain($">{message.Code}</td>").And.Contain("¿No fuiste tú?");
    }

    [Fact]
    public async Task SendAsync_MailDev_SendsMultipartAlternativeWithTextThenHtml()
    {
        var (_, email) = await SendToMailDevAsync();

        new
        {
            ContentType = email.GetProperty("headers").GetProperty("content-type").GetString()?.Split(';')[0],
            Parts = (await mailDev.GetPartsAsync(email)).Keys,
        }.Should().BeEquivalentTo(new { ContentType = "multipart/alternative", Parts = new[] { "text/plain", "text/html" } }, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task SendAsync_MailDev_SetsFromToSubjectAndAutoSubmitted()
    {
        var (message, email) = await SendToMailDevAsync();

        var from = email.GetProperty("from")[0];
        new
        {
            FromAddress = from.GetProperty("address").GetString(),
            FromName = from.GetProperty("name").GetString(),
            To = email.GetProperty("to")[0].GetProperty("address").GetString(),
            Subject = email.GetProperty("subject").GetString(),
            AutoSubmitted = email.GetProperty("headers").GetProperty("auto-submitted").GetString(),
        }.Should().BeEquivalentTo(new
        {
            FromAddress = From,
            FromName = "Contoso Accounts",
            To = message.To,
            Subject = "Contoso: your verification code",
            AutoSubmitted = "auto-generated",
        });
    }

    [Fact]
    public async Task SendAsync_AppNameWithMarkup_ArrivesHtmlEncoded()
    {
        var (_, email) = await SendToMailDevAsync(appName: "<script>alert(1)</script>");

        var html = (await mailDev.GetPartsAsync(email))["text/html"];
        html.Should().NotContain("<script>").And.Contain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    [Fact]
    public async Task SendAsync_CustomFormatterRegistered_SendsItsHtmlTemplate()
    {
        await using var services = SenderTestKit.BuildServices(b =>
        {
            b.Services.AddSingleton<IOtpMessageFormatter, BrandedFormatter>();
            b.AddMailKitSender(o => Plain(o));
        });
        var message = SenderTestKit.Message();

        await SenderTestKit.EmailSender(services).SendAsync(message);

        var email = await mailDev.WaitForEmailAsync(message.To);
        (await mailDev.GetPartsAsync(email))["text/html"].Should().Be($"<p class=\"brand\">{message.Code}</p>");
    }

    [Fact]
    public async Task SendAsync_DefaultSecurityAgainstServerWithoutStartTls_ThrowsWithoutSendingInClear()
    {
        var before = await mailDev.CountAsync();
        await using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o =>
        {
            o.Host = mailDev.Host;
            o.Port = mailDev.SmtpPort;
            o.From = From;
        }));
        var message = SenderTestKit.Message();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(message);

        await send.Should().ThrowAsync<OtpDeliveryException>();
        (await mailDev.CountAsync()).Should().Be(before);
    }

    [Fact]
    public async Task SendAsync_AutoWithCredentialsAgainstServerWithoutStartTls_RefusesToAuthenticateInClear()
    {
        await using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o =>
        {
            Plain(o);
            o.Security = SmtpSecurity.Auto;
            o.UserName = "smtp-user";
            o.Password = "pa55-Secret-word";
        }));

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain(nameof(SmtpNotSecureException));
    }

    [Fact]
    public async Task SendAsync_Delivered_LogsMaskedAddressOnly()
    {
        var logs = new CapturingLoggerProvider();
        await using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o => Plain(o)), logs);
        var message = SenderTestKit.Message();

        await SenderTestKit.EmailSender(services).SendAsync(message);

        logs.AllText.Should().Contain(OtpAddress.Mask(message.To)).And.NotContain(message.Code).And.NotContain(message.To);
    }

    private async Task<(OtpMessage Message, JsonElement Email)> SendToMailDevAsync(string appName = "Contoso", string? culture = null)
    {
        await using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o => Plain(o)));
        var message = SenderTestKit.Message(appName: appName);
        if (culture is not null)
        {
            message = new OtpMessage
            {
                To = message.To,
                Channel = message.Channel,
                Purpose = message.Purpose,
                Code = message.Code,
                ExpiresIn = message.ExpiresIn,
                SentAt = message.SentAt,
                AppName = message.AppName,
                Culture = System.Globalization.CultureInfo.GetCultureInfo(culture),
            };
        }

        await SenderTestKit.EmailSender(services).SendAsync(message);

        return (message, await mailDev.WaitForEmailAsync(message.To));
    }

    private MailKitSenderOptions Plain(MailKitSenderOptions o)
    {
        o.Host = mailDev.Host;
        o.Port = mailDev.SmtpPort;
        o.Security = SmtpSecurity.None;
        o.From = From;
        o.FromName = "Contoso Accounts";
        return o;
    }

    private sealed class BrandedFormatter : IOtpMessageFormatter
    {
        public OtpFormattedMessage Format(OtpMessage message)
            => new("Branded", $"Code: {message.Code}", $"<p class=\"brand\">{message.Code}</p>");
    }
}
