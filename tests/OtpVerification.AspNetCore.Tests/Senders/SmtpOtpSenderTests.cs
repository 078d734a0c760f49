using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class SmtpOtpSenderTests(MailDevFixture mailDev) : IClassFixture<MailDevFixture>
{
    private const string From = "no-reply@contoso.test";

    [Fact]
    public async Task SendAsync_MailDevWithoutStartTls_DeliversCodeInTextPart()
    {
        var (message, email) = await SendToMailDevAsync();

        (await mailDev.GetPartsAsync(email))["text/plain"].Should().Contain($"code is {message.Code}.");
    }

    [Fact]
    public async Task SendAsync_MailDevWithoutStartTls_DeliversCodeInHtmlPart()
    {
        var (message, email) = await SendToMailDevAsync();

        (await mailDev.GetPartsAsync(email))["text/html"].Should().Contain($">{message.Code}</p>");
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
    public async Task SendAsync_MailDev_SetsFromToAndSubject()
    {
        var (message, email) = await SendToMailDevAsync();

        var from = email.GetProperty("from")[0];
        new
        {
            FromAddress = from.GetProperty("address").GetString(),
            FromName = from.GetProperty("name").GetString(),
            To = email.GetProperty("to")[0].GetProperty("address").GetString(),
            Subject = email.GetProperty("subject").GetString(),
        }.Should().BeEquivalentTo(new
        {
            FromAddress = From,
            FromName = "Contoso Accounts",
            To = message.To,
            Subject = "Contoso: your verification code",
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
        using var services = SenderTestKit.BuildServices(b =>
        {
            b.Services.AddSingleton<IOtpMessageFormatter, BrandedFormatter>();
            b.AddSmtpSender(o => { o.Host = mailDev.Host; o.Port = mailDev.SmtpPort; o.From = From; });
        });
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        var email = await mailDev.WaitForEmailAsync(message.To);

        (await mailDev.GetPartsAsync(email))["text/html"].Should().Be($"<p class=\"brand\">{message.Code}</p>");
    }

    [Fact]
    public async Task SendAsync_EnableSslAgainstServerWithoutStartTls_ThrowsOtpDeliveryException()
    {
        using var services = Services(o => o.EnableSsl = true);
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        var send = async () => await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().NotContain(message.Code);
    }

    [Fact]
    public async Task SendAsync_NothingListeningOnPort_ThrowsOtpDeliveryExceptionWithoutCode()
    {
        using var services = Services(o => o.Port = MailDevFixture.FreeLoopbackPort());
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        var send = async () => await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().NotContain(message.Code).And.Contain(OtpAddress.Mask(message.To));
    }

    [Fact]
    public async Task SendAsync_ServerNeverGreets_ThrowsOtpDeliveryExceptionWithinTimeout()
    {
        using var silent = new SilentServer();
        using var services = Services(o =>
        {
            o.Port = silent.Port;
            o.Timeout = TimeSpan.FromMilliseconds(500);
        });
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);
        var clock = Stopwatch.StartNew();

        var send = async () => await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("0.5 s");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SendAsync_CallerCancels_ThrowsOperationCanceledNotDeliveryFailure()
    {
        using var silent = new SilentServer();
        using var services = Services(o => o.Port = silent.Port);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        var send = async () => await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message, cancel.Token);

        await send.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task SendAsync_WithCredentialsAndFailure_LogsNeitherCodeNorPasswordNorFullAddress()
    {
        var logs = new CapturingLoggerProvider();
        using var services = Services(
            o =>
            {
                o.Port = MailDevFixture.FreeLoopbackPort();
                o.UserName = "smtp-user";
                o.Password = "pa55-Secret-word";
            },
            logs);
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        var send = async () => await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);
        await send.Should().ThrowAsync<OtpDeliveryException>();

        logs.AllText.Should().Contain(OtpAddress.Mask(message.To))
            .And.NotContain(message.Code)
            .And.NotContain("pa55-Secret-word")
            .And.NotContain(message.To);
    }

    [Fact]
    public async Task SendAsync_Delivered_LogsMaskedAddressOnly()
    {
        var logs = new CapturingLoggerProvider();
        using var services = Services(_ => { }, logs);
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email);

        await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        logs.AllText.Should().Contain(OtpAddress.Mask(message.To)).And.NotContain(message.Code).And.NotContain(message.To);
    }

    private async Task<(OtpMessage Message, JsonElement Email)> SendToMailDevAsync(string appName = "Contoso")
    {
        using var services = Services(_ => { });
        var message = SenderTestKit.Message(SenderTestKit.UniqueEmail(), OtpChannel.Email, appName: appName);

        await SenderTestKit.SenderFor(services, OtpChannel.Email).SendAsync(message);

        return (message, await mailDev.WaitForEmailAsync(message.To));
    }

    private ServiceProvider Services(Action<SmtpSenderOptions> configure, CapturingLoggerProvider? logs = null)
        => SenderTestKit.BuildServices(
            b => b.AddSmtpSender(o =>
            {
                o.Host = mailDev.Host;
                o.Port = mailDev.SmtpPort;
                o.From = From;
                o.FromName = "Contoso Accounts";
                o.EnableSsl = false;
                configure(o);
            }),
            logs);

    private sealed class BrandedFormatter : IOtpMessageFormatter
    {
        public OtpFormattedMessage Format(OtpMessage message)
            => new("Branded", $"Code: {message.Code}", $"<p class=\"brand\">{message.Code}</p>");
    }

    /// <summary>Accepts TCP connections and never answers: an SMTP server that hangs.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _accepted = [];
        private readonly CancellationTokenSource _stop = new();

        public SilentServer()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_accepted)
            {
                _accepted.ForEach(s => s.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    lock (_accepted)
                    {
                        _accepted.Add(socket);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }
}
