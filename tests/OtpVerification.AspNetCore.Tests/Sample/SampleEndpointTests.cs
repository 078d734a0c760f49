using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Sample;

/// <summary>The sample's own routes: <c>GET /api/me</c> and the Development-only <c>GET /dev/outbox</c>.</summary>
public sealed class SampleEndpointTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Me_WithoutAuthentication_Returns401Problem()
    {
        var response = await _client.GetMeAsync();

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Me_WithForgedBearerToken_Returns401Problem()
    {
        var response = await _client.GetMeAsync("not-a-real-token");

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Login_UseCookies_CookieAuthenticatesApiMe()
    {
        var email = TestData.Email("login-cookie");
        await app.CreateUserAsync(email, TestData.Password);
        using var client = app.CreateClient();
        (await client.PostJsonAsync("/login?useCookies=true", new { email, password = TestData.Password })).StatusCode.Should().Be(HttpStatusCode.OK);

        var me = await client.GetMeAsync();

        (await me.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("email").GetString().Should().Be(email);
    }

    [Fact]
    public async Task Login_WrongPassword_Returns401InvalidCredentials()
    {
        var email = TestData.Email("login-wrong");
        await app.CreateUserAsync(email, TestData.Password);

        var response = await _client.LoginAsync(email, TestData.NewPassword);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task Login_UnknownEmail_Returns401InvalidCredentials()
    {
        var response = await _client.LoginAsync(TestData.Email("login-nobody"), TestData.Password);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task Login_UseCookiesNotABoolean_Returns400ValidationOnUseCookies()
    {
        var response = await _client.PostJsonAsync("/login?useCookies=banana", new { email = "ana@example.com", password = TestData.Password });

        await response.ShouldBeValidationProblemAsync("useCookies");
    }

    [Fact]
    public async Task DevOutbox_InDevelopment_ListsMessagesNewestFirstWithContractFields()
    {
        var email = TestData.Email("outbox");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.ResendSignupAsync(email)).ShouldBeAcceptedAsync();

        var response = await _client.GetAsync(new Uri("/dev/outbox?to=" + Uri.EscapeDataString(email), UriKind.Relative));

        var list = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        list.ValueKind.Should().Be(JsonValueKind.Array);
        var items = list.EnumerateArray().ToList();
        items.Should().HaveCount(2);
        items.Should().AllSatisfy(m => m.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("to", "channel", "purpose", "subject", "body", "sentAt"));
        items[0].GetProperty("sentAt").GetDateTimeOffset().Should().BeAfter(items[1].GetProperty("sentAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task DevOutbox_OutsideDevelopment_Returns404()
    {
        await using var production = new SampleAppFactory().WithEnvironment("Production");
        production.WithServices(services => services.AddSingleton<IOtpSender>(new OtpVerification.Testing.RecordingSender(OtpChannel.Email)));
        using var client = production.CreateClient();

        var response = await client.GetAsync(new Uri("/dev/outbox?to=ana@example.com", UriKind.Relative));

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Start_OutsideDevelopmentWithoutAnEmailSender_RefusesToStartNamingTheKey()
    {
        await using var production = new SampleAppFactory().WithEnvironment("Production");

        var start = () => production.CreateClient();

        start.Should().Throw<InvalidOperationException>().WithMessage("*Smtp:Host*");
    }

    [Fact]
    public async Task SmsStart_OutsideDevelopmentWithoutAnSmsSender_Returns400ValidationOnChannel()
    {
        // Hole 5: the development outbox used to "send" SMS codes in production, to stdout.
        await using var production = new SampleAppFactory().WithEnvironment("Production");
        var email = new OtpVerification.Testing.RecordingSender(OtpChannel.Email);
        production.WithServices(services => services.AddSingleton<IOtpSender>(email));
        using var client = production.CreateClient();

        var response = await client.StartSignupAsync(TestData.Email("sms-prod"), phone: "+14155550123", channel: "sms");

        await response.ShouldBeValidationProblemAsync("channel");
        email.Messages.Should().BeEmpty("a refused start sends nothing");
    }

    [Fact]
    public async Task EmailStart_OutsideDevelopmentWithoutAnSmsSender_NeverFallsBackToSms()
    {
        await using var production = new SampleAppFactory().WithEnvironment("Production");
        var switchable = new OtpVerification.Testing.RecordingSender(OtpChannel.Email);
        switchable.FailWith();
        production.WithServices(services => services.AddSingleton<IOtpSender>(switchable));
        using var client = production.CreateClient();

        var response = await client.StartSignupAsync(TestData.Email("no-sms-fallback"), phone: "+14155550123");

        await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        production.Services.GetRequiredService<DevOutbox>().List().Should().BeEmpty("outside Development nothing goes to the outbox");
    }
}
