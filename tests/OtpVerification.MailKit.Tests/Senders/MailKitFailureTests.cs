using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.MailKit.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Senders;

/// <summary>
/// What MailDev cannot show: a refused recipient, XOAUTH2, a server that never answers, nothing
/// listening, the caller giving up.
/// </summary>
public sealed class MailKitFailureTests
{
    [Fact]
    public async Task SendAsync_RecipientRefused_ThrowsOtpDeliveryExceptionNamingTheStatusOnly()
    {
        using var server = new ScriptedSmtpServer(refuseRecipients: true);
        await using var services = Services(server.Port);
        var message = SenderTestKit.Message();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(message);

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should()
            .Contain("RecipientNotAccepted").And.Contain("550")
            .And.NotContain(message.To).And.NotContain("User unknown");
    }

    [Fact]
    public async Task SendAsync_RecipientRefused_LogsNeitherAddressNorCodeNorServerText()
    {
        using var server = new ScriptedSmtpServer(refuseRecipients: true);
        var logs = new CapturingLoggerProvider();
        await using var services = Services(server.Port, logs: logs);
        var message = SenderTestKit.Message();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(message);
        await send.Should().ThrowAsync<OtpDeliveryException>();

        logs.AllText.Should().Contain(OtpAddress.Mask(message.To))
            .And.NotContain(message.To)
            .And.NotContain(message.Code)
            .And.NotContain("User unknown");
    }

    [Fact]
    public async Task SendAsync_TokenProviderRegistered_AuthenticatesWithXoauth2BearerToken()
    {
        using var server = new ScriptedSmtpServer();
        var tokens = new FakeTokenProvider("ya29.token-for-test");
        await using var services = Services(server.Port, o => o.UserName = "sender@contoso.test", tokens: tokens);

        await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        var auth = server.Commands.Single(c => c.StartsWith("AUTH ", StringComparison.Ordinal)).Split(' ');
        new { Mechanism = auth[1], Response = Encoding.ASCII.GetString(Convert.FromBase64String(auth[2])) }
            .Should().Be(new { Mechanism = "XOAUTH2", Response = "user=sender@contoso.test\u0001auth=Bearer ya29.token-for-test\u0001\u0001" });
    }

    [Fact]
    public async Task SendAsync_TokenProviderRegistered_AsksForTheConfiguredMailboxOncePerConnection()
    {
        using var server = new ScriptedSmtpServer();
        var tokens = new FakeTokenProvider("ya29.token-for-test");
        await using var services = Services(server.Port, o => o.UserName = "sender@contoso.test", tokens: tokens);
        var sender = SenderTestKit.EmailSender(services);

        await sender.SendAsync(SenderTestKit.Message());
        await sender.SendAsync(SenderTestKit.Message());

        tokens.Requests.Should().Equal("sender@contoso.test");
    }

    [Fact]
    public async Task SendAsync_PasswordWhileServerOffersXoauth2_NeverUsesXoauth2()
    {
        using var server = new ScriptedSmtpServer();
        await using var services = Services(server.Port, o => { o.UserName = "sender@contoso.test"; o.Password = "pa55-Secret-word"; });

        await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        server.Commands.Single(c => c.StartsWith("AUTH ", StringComparison.Ordinal)).Should().NotStartWith("AUTH XOAUTH2");
    }

    [Fact]
    public async Task SendAsync_SelfSignedCertificateWithoutCallback_ThrowsSslHandshakeFailure()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        using var server = new ScriptedSmtpServer(certificate: certificate);
        await using var services = Services(server.Port, o => o.Security = SmtpSecurity.SslOnConnect);

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("SslHandshakeException");
    }

    [Fact]
    public async Task SendAsync_PinnedCertificateCallback_TrustsOnlyThatCertificate()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        using var other = TestCertificates.CreateSelfSigned();
        using var server = new ScriptedSmtpServer(certificate: certificate);
        await using var services = Services(server.Port, o =>
        {
            o.Security = SmtpSecurity.SslOnConnect;
            o.ServerCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == other.GetCertHashString();
        });

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        await send.Should().ThrowAsync<OtpDeliveryException>();
    }

    [Fact]
    public async Task SendAsync_NothingListening_ThrowsOtpDeliveryExceptionWithMaskedAddress()
    {
        await using var services = Services(MailDevFixture.FreeLoopbackPort());
        var message = SenderTestKit.Message();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(message);

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().Contain(OtpAddress.Mask(message.To)).And.NotContain(message.Code).And.NotContain(message.To);
    }

    [Fact]
    public async Task SendAsync_ServerNeverGreets_ThrowsOtpDeliveryExceptionWithinTimeout()
    {
        using var silent = new SilentServer();
        await using var services = Services(silent.Port, o => o.Timeout = TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message());

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("within 0.5 s");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SendAsync_CallerCancels_ThrowsOperationCanceledNotDeliveryFailure()
    {
        using var silent = new SilentServer();
        await using var services = Services(silent.Port);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var send = async () => await SenderTestKit.EmailSender(services).SendAsync(SenderTestKit.Message(), cancel.Token);

        await send.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task SendAsync_FailureThenWorkingServer_NextMessageOpensAFreshConnection()
    {
        using var server = new ScriptedSmtpServer(refuseRecipients: true);
        await using var services = Services(server.Port);
        var sender = SenderTestKit.EmailSender(services);
        var first = async () => await sender.SendAsync(SenderTestKit.Message());
        await first.Should().ThrowAsync<OtpDeliveryException>();

        var second = async () => await sender.SendAsync(SenderTestKit.Message());
        await second.Should().ThrowAsync<OtpDeliveryException>();

        server.Commands.Count(c => c.StartsWith("EHLO", StringComparison.Ordinal)).Should().Be(2);
    }

    private static ServiceProvider Services(int port, Action<MailKitSenderOptions>? configure = null, CapturingLoggerProvider? logs = null, ISmtpAccessTokenProvider? tokens = null)
        => SenderTestKit.BuildServices(
            b =>
            {
                if (tokens is not null)
                {
                    b.Services.AddSingleton(tokens);
                }

                b.AddMailKitSender(o =>
                {
                    o.Host = "127.0.0.1";
                    o.Port = port;
                    o.Security = SmtpSecurity.None;
                    o.From = "no-reply@contoso.test";
                    configure?.Invoke(o);
                });
            },
            logs);

    private sealed class FakeTokenProvider(string token) : ISmtpAccessTokenProvider
    {
        private readonly List<string> _requests = [];

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public ValueTask<string> GetAccessTokenAsync(string userName, CancellationToken cancellationToken)
        {
            lock (_requests)
            {
                _requests.Add(userName);
            }

            return ValueTask.FromResult(token);
        }
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
