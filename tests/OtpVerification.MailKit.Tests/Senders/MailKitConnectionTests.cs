using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtpVerification.MailKit.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Senders;

/// <summary>
/// The kept-alive connection, counted at a relay in front of a real MailDev: reused across messages,
/// replaced when the server dropped it or it idled too long, closed on dispose.
/// </summary>
[Collection(MailDevCollection.Name)]
public sealed class MailKitConnectionTests(MailDevFixture mailDev) : IDisposable
{
    private readonly TcpRelay _relay = new(mailDev.SmtpPort);
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _relay.Dispose();

    [Fact]
    public async Task SendAsync_ThreeMessages_UseOneConnection()
    {
        await using var services = Services();

        await SendAndWaitAsync(services, 3);

        _relay.Connections.Should().Be(1);
    }

    [Fact]
    public async Task SendAsync_TwentyConcurrentMessages_AllDeliveredOverOneConnection()
    {
        await using var services = Services();
        var sender = SenderTestKit.EmailSender(services);
        var messages = Enumerable.Range(0, 20).Select(_ => SenderTestKit.Message()).ToList();

        await Task.WhenAll(messages.Select(m => sender.SendAsync(m).AsTask()));
        await Task.WhenAll(messages.Select(m => mailDev.WaitForEmailAsync(m.To)));

        _relay.Connections.Should().Be(1);
    }

    [Fact]
    public async Task SendAsync_ServerDroppedConnection_ReconnectsAndDelivers()
    {
        await using var services = Services();
        await SendAndWaitAsync(services, 1);
        _relay.DropAll();

        var message = SenderTestKit.Message();
        await SenderTestKit.EmailSender(services).SendAsync(message);
        await mailDev.WaitForEmailAsync(message.To);

        _relay.Connections.Should().Be(2);
    }

    [Fact]
    public async Task SendAsync_IdleConnectionDroppedByServer_NoopNoticesAndReconnects()
    {
        var logs = new CapturingLoggerProvider();
        await using var services = Services(logs: logs);
        await SendAndWaitAsync(services, 1);
        _relay.DropAll();
        _time.Advance(MailKitOtpSender.NoopAfter + TimeSpan.FromSeconds(1));

        await SendAndWaitAsync(services, 1);

        new { _relay.Connections, Noticed = logs.AllText.Contains("[SmtpConnectionLost]", StringComparison.Ordinal) }
            .Should().Be(new { Connections = 2, Noticed = true });
    }

    [Fact]
    public async Task SendAsync_IdleLongerThanKeepAlive_OpensNewConnection()
    {
        await using var services = Services(o => o.KeepAlive = TimeSpan.FromSeconds(30));
        await SendAndWaitAsync(services, 1);
        _time.Advance(TimeSpan.FromSeconds(31));

        await SendAndWaitAsync(services, 1);

        _relay.Connections.Should().Be(2);
    }

    [Fact]
    public async Task SendAsync_IdleLessThanKeepAlive_ReusesConnectionAfterNoop()
    {
        await using var services = Services(o => o.KeepAlive = TimeSpan.FromSeconds(30));
        await SendAndWaitAsync(services, 1);
        _time.Advance(TimeSpan.FromSeconds(29));

        await SendAndWaitAsync(services, 1);

        _relay.Connections.Should().Be(1);
    }

    [Fact]
    public async Task SendAsync_KeepAliveZero_OneConnectionPerMessageClosedAfterEach()
    {
        await using var services = Services(o => o.KeepAlive = TimeSpan.Zero);

        await SendAndWaitAsync(services, 2);

        new { _relay.Connections, Open = await _relay.WaitUntilClosedAsync(TimeSpan.FromSeconds(5)) }
            .Should().Be(new { Connections = 2, Open = 0 });
    }

    [Fact]
    public async Task SendAsync_SettingsReloadedToAnotherPort_SendsThereOnANewConnection()
    {
        using var other = new TcpRelay(mailDev.SmtpPort);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Smtp:Host"] = mailDev.Host,
            ["Smtp:Port"] = _relay.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:Security"] = "None",
            ["Smtp:From"] = "no-reply@contoso.test",
        }).Build();
        await using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(configuration.GetSection("Smtp")), time: _time);
        await SendAndWaitAsync(services, 1);

        configuration["Smtp:Port"] = other.Port.ToString(CultureInfo.InvariantCulture);
        configuration.Reload();
        await SendAndWaitAsync(services, 1);

        new { First = _relay.Connections, Second = other.Connections, FirstOpen = await _relay.WaitUntilClosedAsync(TimeSpan.FromSeconds(5)) }
            .Should().Be(new { First = 1, Second = 1, FirstOpen = 0 });
    }

    [Fact]
    public async Task DisposeAsync_AfterSend_ClosesTheConnection()
    {
        var services = Services();
        await SendAndWaitAsync(services, 1);

        await services.DisposeAsync();

        (await _relay.WaitUntilClosedAsync(TimeSpan.FromSeconds(5))).Should().Be(0);
    }

    [Fact]
    public async Task SendAsync_AfterDispose_ThrowsObjectDisposed()
    {
        var services = Services();
        var sender = SenderTestKit.EmailSender(services);
        await services.DisposeAsync();

        var send = async () => await sender.SendAsync(SenderTestKit.Message());

        await send.Should().ThrowAsync<ObjectDisposedException>();
    }

    private async Task SendAndWaitAsync(IServiceProvider services, int count)
    {
        var sender = SenderTestKit.EmailSender(services);
        for (var i = 0; i < count; i++)
        {
            var message = SenderTestKit.Message();
            await sender.SendAsync(message);
            await mailDev.WaitForEmailAsync(message.To);
        }
    }

    private ServiceProvider Services(Action<MailKitSenderOptions>? configure = null, CapturingLoggerProvider? logs = null)
        => SenderTestKit.BuildServices(
            b => b.AddMailKitSender(o =>
            {
                o.Host = mailDev.Host;
                o.Port = _relay.Port;
                o.Security = SmtpSecurity.None;
                o.From = "no-reply@contoso.test";
                configure?.Invoke(o);
            }),
            logs,
            _time);
}
