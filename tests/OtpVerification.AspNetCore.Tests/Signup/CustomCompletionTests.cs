using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Senders;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>
/// Signup completed by the app's own handler (<c>CompleteWith&lt;T&gt;()</c>) instead of Identity, in
/// a bare app: no Identity, and in one case no authentication services at all.
/// </summary>
public sealed partial class CustomCompletionTests
{
    [Fact]
    public async Task Without_authentication_services_the_user_is_created_and_no_tokens_are_returned()
    {
        await using var app = await CustomApp.StartAsync(withBearer: false);
        var email = TestData.Email("noauth");

        (await app.Client.StartSignupAsync(email)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var verify = await app.Client.VerifySignupAsync(email, app.Code(email));

        verify.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await verify.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("userId").GetString().Should().Be(app.Users.IdOf(email));
        body.TryGetProperty("accessToken", out var token).Should().BeFalse(token.ToString());
        app.Users.Count.Should().Be(1);
    }

    [Fact]
    public async Task With_a_bearer_scheme_the_tokens_sign_the_new_user_in()
    {
        await using var app = await CustomApp.StartAsync(withBearer: true);
        var email = TestData.Email("bearer");

        await app.Client.StartSignupAsync(email);
        var verify = await app.Client.VerifySignupAsync(email, app.Code(email));

        verify.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await verify.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("tokenType").GetString().Should().Be("Bearer");
        using var me = new HttpRequestMessage(HttpMethod.Get, "/me");
        me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("accessToken").GetString());
        var meResponse = await app.Client.SendAsync(me);
        meResponse.StatusCode.Should().Be(HttpStatusCode.OK);
        (await meResponse.Content.ReadAsStringAsync()).Should().Contain(email);
    }

    [Fact]
    public async Task A_failing_handler_answers_503_and_the_same_code_works_on_retry()
    {
        await using var app = await CustomApp.StartAsync(withBearer: false);
        var email = TestData.Email("fails");
        await app.Client.StartSignupAsync(email);
        var code = app.Code(email);
        app.Users.FailNext = true;

        var failed = await app.Client.VerifySignupAsync(email, code);
        var retried = await app.Client.VerifySignupAsync(email, code);

        failed.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().Should().Be("unavailable");
        retried.StatusCode.Should().Be(HttpStatusCode.OK);
        app.Users.Count.Should().Be(1);
    }

    [Fact]
    public async Task An_email_taken_meanwhile_is_409_email_taken()
    {
        await using var app = await CustomApp.StartAsync(withBearer: false);
        var email = TestData.Email("taken");
        await app.Client.StartSignupAsync(email);
        app.Users.Add(email);

        var verify = await app.Client.VerifySignupAsync(email, app.Code(email));

        verify.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await verify.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString().Should().Be("email_taken");
    }

    [Fact]
    public async Task The_handlers_policy_errors_are_400_validation_at_start_and_nothing_is_sent()
    {
        await using var app = await CustomApp.StartAsync(withBearer: false);
        var email = TestData.Email("short");

        var start = await app.Client.StartSignupAsync(email, password: "short");

        start.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var body = await start.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("code").GetString().Should().Be("validation");
        body.GetProperty("errors").GetProperty("password")[0].GetString().Should().Be("Use at least 8 characters.");
        app.Outbox.List(email).Should().BeEmpty();
    }

    /// <summary>A bare app: OtpVerification with an in-memory user list, optionally bearer tokens.</summary>
    private sealed partial class CustomApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private CustomApp(WebApplication app)
        {
            _app = app;
            Client = app.GetTestClient();
            Users = app.Services.GetRequiredService<UserList>();
            Outbox = app.Services.GetRequiredService<DevOutbox>();
        }

        public HttpClient Client { get; }

        public UserList Users { get; }

        public DevOutbox Outbox { get; }

        public static async Task<CustomApp> StartAsync(bool withBearer)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<UserList>();
            var otp = builder.Services.AddOtpSignup<OtpSignupForm>(o => o.Abuse.EqualizeResponseTimes = false)
                .CompleteWith<ListCompletion>();
            if (withBearer)
            {
                builder.Services.AddAuthentication().AddBearerToken();
                builder.Services.AddAuthorization();
                otp.ConfigureSignIn(s => s.BearerScheme = BearerTokenDefaults.AuthenticationScheme);
            }

            var app = builder.Build();
            app.Services.GetRequiredService<DevOutbox>().WriteToConsole = false;
            if (withBearer)
            {
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGet("/me", (ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Email)).RequireAuthorization();
            }

            app.MapOtpSignup<OtpSignupForm>();
            await app.StartAsync();
            return new CustomApp(app);
        }

        public string Code(string email)
            => CodePattern().Match(Outbox.List(email).Should().ContainSingle().Subject.Body).Value;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _app.DisposeAsync();
        }

        [GeneratedRegex(@"\b\d{6}\b")]
        private static partial Regex CodePattern();
    }

    /// <summary>The app's users, in memory.</summary>
    private sealed class UserList
    {
        private readonly ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);

        public bool FailNext { get; set; }

        public int Count => _ids.Count;

        public bool Contains(string email) => _ids.ContainsKey(email);

        public string? IdOf(string email) => _ids.TryGetValue(email, out var id) ? id : null;

        public bool Add(string email) => _ids.TryAdd(email, Guid.NewGuid().ToString("N"));
    }

    /// <summary>Completes signups into <see cref="UserList"/>.</summary>
    private sealed class ListCompletion(UserList users) : IOtpSignupCompletion<OtpSignupForm>
    {
        public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(users.Contains(email));

        public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(OtpSignupForm form, CancellationToken cancellationToken)
        {
            IReadOnlyDictionary<string, string[]> errors = form.Password is { Length: >= 8 }
                ? new Dictionary<string, string[]>()
                : new Dictionary<string, string[]> { ["password"] = ["Use at least 8 characters."] };
            return ValueTask.FromResult(errors);
        }

        public ValueTask<OtpCompletionResult> CompleteAsync(OtpSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
        {
            if (users.FailNext)
            {
                users.FailNext = false;
                throw new InvalidOperationException("The user database is down.");
            }

            if (!users.Add(form.Email!))
            {
                return ValueTask.FromResult(OtpCompletionResult.Taken());
            }

            var id = users.IdOf(form.Email!)!;
            var principal = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, id), new Claim(ClaimTypes.Email, form.Email!)],
                BearerTokenDefaults.AuthenticationScheme));
            return ValueTask.FromResult(OtpCompletionResult.Created(id, principal));
        }
    }
}
