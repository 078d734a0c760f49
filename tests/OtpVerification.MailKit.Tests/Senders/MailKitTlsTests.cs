using Microsoft.Extensions.DependencyInjection;
using OtpVerification.MailKit.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Senders;

/// <summary>
/// Implicit TLS and password authentication against MailDev (<c>--incoming-secure</c>), whose
/// self-signed certificate the tests trust by pinning it in the validation callback option.
/// </summary>
[Collection(SecureMailDevCollection.Name)]
public sealed class MailKitTlsTests(SecureMailDevFixture mailDev)
{
    [Fact]
    public async Task SendAsync_SslOnConnectWithPinnedCertificateAndPassword_DeliversCode()
    {
        await using var services = Services(_ => { });
        var message = SenderTestKit.Message();

        await SenderTestKit.EmailSender(services).SendAsync(message);

        var email = await mailDev.WaitForEmailAsync(message.To);
        (await mailDev.GetPartsAsync(email))["text/plain"].Should().Contain($"code is {message.Code}.");
    }

    [Fact]
    public async Task SendAsync_ThreeMessagesOverTls_UseOneConnection()
    {
        using var relay = new TcpRelay(mailDev.SmtpPort);
        await using var services = Services(o => o.Port = relay.Port);
        var sender = SenderTestKit.EmailSender(services);

        for (var i = 0; i < 3; i++)
        {
            var message = SenderTestKit.Message();
            await sender.SendAsync(message);
            await mailDev.WaitForEmailAsync(message.To);
        }

        relay.Connections.Should().Be(1);
    }

    [Fact]
    public async Task SendAsync_ServerDroppedTlsConnection_ReconnectsAndDelivers()
    {
        using var relay = new TcpRelay(mailDev.SmtpPort);
        await using var services = Services(o => o.Port = relay.Port);
        var sender = SenderTestKit.EmailSender(services);
        await sender.SendAsync(SenderTestKit.Message());
        relay.DropAll();
        var message = SenderTestKit.Message();

        await sender.SendAsync(message);

        (await mailDev.WaitForEmailAsync(message.To)).GetProperty("subject").GetString().Should().Be("Contoso: your verification code");
    }

    [Fact]
    public async Task SendAsync_WrongPassword_ThrowsAuthenticationFailure()
    {
        await using var services = Services(o => o.Password = "not-the-Pa55-word");

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("AuthenticationException");
    }

    [Fact]
    public async Task SendAsync_WrongPassword_LogsNeitherAddressNorCodeNorPassword()
    {
        var logs = new CapturingLoggerProvider();
        await using var services = Services(o => o.Password = "not-the-Pa55-word", logs);
        var message = SenderTestKit.Message();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(message);
        await send.Should().ThrowAsync<OtpDeliveryException>();

        logs.AllText.Should().Contain(OtpAddress.Mask(message.To))
            .And.NotContain(message.To)
            .And.NotContain(message.Code)
            .And.NotContain("not-the-Pa55-word");
    }

    private ServiceProvider Services(Action<MailKitSenderOptions> configure, CapturingLoggerProvider? logs = null)
        => SenderTestKit.BuildServices(
            b => b.AddMailKitSender(o =>
            {
                o.Host = mailDev.Host;
                o.Port = mailDev.SmtpPort;
                o.Security = SmtpSecurity.SslOnConnect;
                o.From = "no-reply@contoso.test";
                o.UserName = SecureMailDevFixture.UserName;
                o.Password = SecureMailDevFixture.Password;
                o.ServerCertificateValidationCallback = mailDev.ValidateCertificate;
                o.Timeout = TimeSpan.FromSeconds(5);
                configure(o);
            }),
            logs);
}
