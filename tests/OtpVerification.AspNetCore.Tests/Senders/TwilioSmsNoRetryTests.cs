using System.Net;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OtpVerification.Senders;
using OtpVerification.Twilio;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Senders;

/// <summary>
/// The Twilio sender's typed <see cref="HttpClient"/> against a fake <see cref="HttpMessageHandler"/>:
/// one request per message, never a second one once a request may have reached Twilio (a
/// duplicate SMS costs money), a time-out is a delivery failure (503 from the engine), and the
/// credentials never reach a log.
/// </summary>
public sealed class TwilioSmsNoRetryTests
{
    private const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    private const string AuthToken = "twilio-auth-token-never-logged-42";
    private const string To = "+14155550123";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly CountingHandler _handler = new();
    private readonly CapturingLoggerProvider _logs = new();

    [Fact]
    public async Task SendAsync_TwilioSilentPastTimeout_ThrowsDeliveryExceptionAfterExactlyOneRequest()
    {
        _handler.Respond = async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.Created);
        };
        using var services = Build();
        var send = SenderTestKit.SenderFor(services, OtpChannel.Sms).SendAsync(SenderTestKit.Message(To, OtpChannel.Sms)).AsTask();
        await _handler.FirstRequest.WaitAsync(TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(11));

        (await FluentActions.Awaiting(() => send).Should().ThrowAsync<OtpDeliveryException>()).Which.Message.Should().Contain("within 10 s");
        _handler.Requests.Should().Be(1);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    public async Task SendAsync_Twilio5xxOr429_ThrowsAfterExactlyOneRequest(HttpStatusCode status)
    {
        _handler.Respond = (_, _) => Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent("""{"code":20500}""") });
        using var services = Build();

        var send = () => SenderTestKit.SenderFor(services, OtpChannel.Sms).SendAsync(SenderTestKit.Message(To, OtpChannel.Sms)).AsTask();

        await send.Should().ThrowAsync<OtpDeliveryException>();
        _handler.Requests.Should().Be(1);
    }

    [Fact]
    public async Task EngineStart_TwilioTimesOut_AnswersUnavailableAndSendsOneRequest()
    {
        _handler.Respond = async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.Created);
        };
        using var services = Build();
        var engine = services.GetRequiredService<OtpEngine>();
        var start = engine.StartAsync(new OtpStartRequest
        {
            Purpose = OtpPurpose.Signup,
            Address = To,
            Destinations = [new OtpDestination(OtpChannel.Sms, To)],
        }).AsTask();
        await _handler.FirstRequest.WaitAsync(TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(11));

        (await start.WaitAsync(TimeSpan.FromSeconds(10))).Outcome.Should().Be(OtpOutcome.Unavailable);
        _handler.Requests.Should().Be(1);
    }

    [Fact]
    public async Task SendAsync_TimeoutOrRefusal_NoLogLineCarriesTheAuthTokenOrTheBasicHeader()
    {
        _handler.Respond = (_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("""{"code":20003}""") });
        using var services = Build();

        var send = () => SenderTestKit.SenderFor(services, OtpChannel.Sms).SendAsync(SenderTestKit.Message(To, OtpChannel.Sms)).AsTask();

        var thrown = await send.Should().ThrowAsync<OtpDeliveryException>();
        var basic = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
        _logs.Lines.Should().NotBeEmpty("the refusal is logged");
        _logs.AllText.Should().NotContain(AuthToken).And.NotContain(basic);
        thrown.Which.Message.Should().NotContain(AuthToken);
        _handler.LastAuthorization.Should().Be("Basic " + basic, "the credentials travel only in the Authorization header");
    }

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs));
        services.AddOtpVerification(o => o.Abuse.EqualizeResponseTimes = false).AddTwilioSmsSender(o =>
        {
            o.AccountSid = AccountSid;
            o.AuthToken = AuthToken;
            o.From = "+14155550100";
        });
        services.AddHttpClient(TwilioSmsOptions.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _handler);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private sealed class CountingHandler : HttpMessageHandler
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _requests;

        public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> Respond { get; set; } = (_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.Created));

        public int Requests => Volatile.Read(ref _requests);

        public Task FirstRequest => _first.Task;

        public string? LastAuthorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            LastAuthorization = request.Headers.Authorization?.ToString();
            _first.TrySetResult();
            return Respond(request, cancellationToken);
        }
    }
}
