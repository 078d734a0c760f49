using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification.Senders;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Registration;

/// <summary>
/// Every <c>MapOtp…</c> method returns a convention builder: a convention chained on it
/// (<c>RequireAuthorization()</c> here) reaches each endpoint it mapped.
/// </summary>
public sealed class EndpointConventionTests
{
    [Fact]
    public async Task MapOtpSignup_RequireAuthorizationChained_EveryEndpointAnswers401()
    {
        await using var app = await StartAsync("Development", a => a.MapOtpSignup<OtpSignupForm>().RequireAuthorization());

        foreach (var path in new[] { "/signup/start", "/signup/resend", "/signup/verify" })
        {
            using var response = await app.GetTestClient().PostAsJsonAsync(path, new { email = "ana@example.com" });
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
        }
    }

    [Fact]
    public async Task MapOtpPasswordReset_RequireAuthorizationChained_EveryEndpointAnswers401()
    {
        await using var app = await StartAsync("Development", a => a.MapOtpPasswordReset().RequireAuthorization());

        foreach (var path in new[] { "/password-reset/start", "/password-reset/complete" })
        {
            using var response = await app.GetTestClient().PostAsJsonAsync(path, new { email = "ana@example.com" });
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
        }
    }

    [Fact]
    public async Task MapOtpDevOutbox_RequireAuthorizationChained_Answers401()
    {
        await using var app = await StartAsync("Development", a => a.MapOtpDevOutbox().RequireAuthorization());

        using var response = await app.GetTestClient().GetAsync("/dev/outbox?to=ana@example.com");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task MapOtpDevOutbox_NoConvention_AnswersTheListInDevelopment()
    {
        await using var app = await StartAsync("Development", a => a.MapOtpDevOutbox());

        using var response = await app.GetTestClient().GetAsync("/dev/outbox?to=ana@example.com");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("[]");
    }

    [Fact]
    public async Task MapOtpDevOutbox_OutsideDevelopment_ReturnsABuilderAndMapsNothing()
    {
        await using var app = await StartAsync("Production", a => a.MapOtpDevOutbox().RequireAuthorization());

        using var response = await app.GetTestClient().GetAsync("/dev/outbox?to=ana@example.com");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private static async Task<WebApplication> StartAsync(string environment, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication().AddBearerToken();
        builder.Services.AddAuthorization();
        builder.Services.AddOtpSignup<OtpSignupForm>(o => o.Abuse.EqualizeResponseTimes = false).CompleteWith<NoUsers>();
        builder.Services.AddScoped<IOtpPasswordReset, NoUsers>();
        builder.Services.AddOtpVerification().AddSender<OtpVerificationBuilder, NullEmailSender>();
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        map(app);
        await app.StartAsync();
        return app;
    }

    private sealed class NoUsers : IOtpSignupCompletion<OtpSignupForm>, IOtpPasswordReset
    {
        public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(false);

        public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(OtpSignupForm form, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>());

        public ValueTask<OtpCompletionResult> CompleteAsync(OtpSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
            => ValueTask.FromResult(OtpCompletionResult.Taken());

        public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(string email, string newPassword, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>());

        public ValueTask<bool> ResetAsync(string email, string newPassword, CancellationToken cancellationToken) => ValueTask.FromResult(false);
    }

    /// <summary>An email sender for the Production host (which refuses to start without one).</summary>
    private sealed class NullEmailSender : IOtpSender
    {
        public OtpChannel Channel => OtpChannel.Email;

        public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
