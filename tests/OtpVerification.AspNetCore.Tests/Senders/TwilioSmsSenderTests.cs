using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Senders;
using OtpVerification.Twilio;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class TwilioSmsSenderTests : IAsyncLifetime
{
    private const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    private const string AuthToken = "twilio-auth-token-0123456789";
    private const string FromNumber = "+14155550100";
    private const string ServiceSid = "MG0123456789abcdef0123456789abcdef";
    private const string To = "+14155550123";

    private FakeTwilioServer _twilio = null!;

    public async Task InitializeAsync() => _twilio = await FakeTwilioServer.StartAsync();

    public async Task DisposeAsync() => await _twilio.DisposeAsync();

    [Fact]
    public async Task SendAsync_Accepted_PostsToAccountMessagesResource()
    {
        await SendAsync();

        _twilio.Requests.Should().ContainSingle().Which.Should().Match<TwilioRequest>(r =>
            r.Method == "POST" && r.RawTarget == $"/2010-04-01/Accounts/{AccountSid}/Messages.json");
    }

    [Fact]
    public async Task SendAsync_Accepted_AuthenticatesWithBasicAccountSidAndAuthToken()
    {
        await SendAsync();

        _twilio.Requests.Single().Authorization.Should().Be("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}")));
    }

    [Fact]
    public async Task SendAsync_Accepted_SendsFormUrlEncodedToFromAndBody()
    {
        var message = await SendAsync();

        var request = _twilio.Requests.Single();
        request.ContentType.Should().Be("application/x-www-form-urlencoded");
        request.Form.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["To"] = To,
            ["From"] = FromNumber,
            ["Body"] = new DefaultOtpMessageFormatter().Format(message).TextBody,
        });
    }

    [Fact]
    public async Task SendAsync_Accepted_BodyCarriesTheCode()
    {
        var message = await SendAsync();

        _twilio.Requests.Single().Form.Single(f => f.Key == "Body").Value.Should().StartWith($"{message.Code} is your Contoso code");
    }

    [Fact]
    public async Task SendAsync_MessagingServiceSidInsteadOfFrom_SendsMessagingServiceSidAndNoFrom()
    {
        await SendAsync(o =>
        {
            o.From = null;
            o.MessagingServiceSid = ServiceSid;
        });

        _twilio.Requests.Single().Form.Select(f => f.Key).Should().BeEquivalentTo("To", "MessagingServiceSid", "Body");
    }

    [Fact]
    public async Task SendAsync_BaseUrlWithTrailingSlash_PostsToSamePath()
    {
        await SendAsync(o => o.BaseUrl = new Uri(_twilio.BaseUrl.AbsoluteUri.TrimEnd('/') + "/"));

        _twilio.Requests.Single().RawTarget.Should().Be($"/2010-04-01/Accounts/{AccountSid}/Messages.json");
    }

    [Fact]
    public async Task SendAsync_Rejected400WithTwilioCode_ThrowsNamingStatusAndTwilioCode()
    {
        _twilio.Respond = FakeTwilioServer.Error(400, """{"code":21211,"message":"The 'To' number +14155550123 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}""");

        var send = () => SendAsync();

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().Contain("HTTP 400").And.Contain("21211");
    }

    [Fact]
    public async Task SendAsync_Rejected_MessageHoldsNeitherCodeNorTwilioTextNorFullNumber()
    {
        _twilio.Respond = FakeTwilioServer.Error(400, """{"code":21211,"message":"The 'To' number +14155550123 is not a valid phone number.","status":400}""");
        var message = SenderTestKit.Message(To, OtpChannel.Sms);

        var send = () => SendAsync(message: message);

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().NotContain(message.Code).And.NotContain("not a valid phone number").And.NotContain(To);
    }

    [Fact]
    public async Task SendAsync_Rejected500WithoutJson_ThrowsNamingStatus()
    {
        _twilio.Respond = async context =>
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>Bad gateway</html>");
        };

        var send = () => SendAsync();

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("HTTP 502").And.NotContain("Twilio error");
    }

    [Fact]
    public async Task SendAsync_WrongCredentials401_ThrowsNamingStatusAndNotToken()
    {
        _twilio.Respond = FakeTwilioServer.Error(401, """{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}""");

        var send = () => SendAsync();

        (await send.Should().ThrowAsync<OtpDeliveryException>())
            .Which.Message.Should().Contain("HTTP 401").And.Contain("20003").And.NotContain(AuthToken);
    }

    [Fact]
    public async Task SendAsync_SlowServer_ThrowsOtpDeliveryExceptionWithinTimeout()
    {
        _twilio.Respond = async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            await FakeTwilioServer.Created(context);
        };
        var clock = Stopwatch.StartNew();

        var send = () => SendAsync(o => o.Timeout = TimeSpan.FromMilliseconds(500));

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("within 0.5 s");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SendAsync_NothingListening_ThrowsOtpDeliveryException()
    {
        var port = Infrastructure.LoopbackPort.Free();

        var send = () => SendAsync(o => o.BaseUrl = new Uri($"http://127.0.0.1:{port}"));

        (await send.Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("could not be reached");
    }

    [Fact]
    public async Task SendAsync_CallerCancels_ThrowsOperationCanceled()
    {
        _twilio.Respond = async context => await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var send = () => SendAsync(cancellationToken: cancel.Token);

        await send.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task SendAsync_AnyOutcome_LogsNeitherCodeNorTokenNorFullNumber()
    {
        var logs = new CapturingLoggerProvider();
        var message = SenderTestKit.Message(To, OtpChannel.Sms);
        await SendAsync(message: message, logs: logs);
        _twilio.Respond = FakeTwilioServer.Error(400, """{"code":21211,"message":"The 'To' number +14155550123 is not a valid phone number."}""");
        var failing = () => SendAsync(message: message, logs: logs);
        await failing.Should().ThrowAsync<OtpDeliveryException>();

        logs.AllText.Should().Contain(OtpAddress.Mask(To))
            .And.NotContain(message.Code)
            .And.NotContain(AuthToken)
            .And.NotContain(To);
    }

    private async Task<OtpMessage> SendAsync(
        Action<TwilioSmsOptions>? configure = null,
        OtpMessage? message = null,
        CapturingLoggerProvider? logs = null,
        CancellationToken cancellationToken = default)
    {
        message ??= SenderTestKit.Message(To, OtpChannel.Sms);
        using var services = SenderTestKit.BuildServices(
            b => b.AddTwilioSmsSender(o =>
            {
                o.AccountSid = AccountSid;
                o.AuthToken = AuthToken;
                o.From = FromNumber;
                o.BaseUrl = _twilio.BaseUrl;
                configure?.Invoke(o);
            }),
            logs);

        await SenderTestKit.SenderFor(services, OtpChannel.Sms).SendAsync(message, cancellationToken);
        return message;
    }
}
