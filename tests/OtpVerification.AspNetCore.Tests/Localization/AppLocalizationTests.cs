using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Localization;

/// <summary>
/// An app's own localization: ASP.NET Core's RequestLocalization, when the app runs it, chooses
/// the language (with cultures of its own); an app adds a language with its own resources.
/// </summary>
public sealed class AppLocalizationTests
{
    [Theory]
    [InlineData("es", "es")]
    [InlineData("fr", "de")]
    [InlineData("de-AT", "de")]
    public async Task RequestLocalizationOfTheApp_ChoosesTheCulture_AndTextsFallBackToEnglishForItsOthers(string acceptLanguage, string appCulture)
    {
        await using var app = await BareApp.StartAsync(requestLocalization: ["de", "es"]);
        app.Client.DefaultRequestHeaders.Add("Accept-Language", acceptLanguage);

        var problem = await (await app.Client.PostAsJsonAsync("/signup/start", new { })).Content.ReadFromJsonAsync<JsonElement>();

        var expected = appCulture == "es" ? Texts.SpanishOnly["Problem.validation"] : Texts.English["Problem.validation"];
        problem.GetProperty("title").GetString().Should().Be(expected, "the app's RequestLocalization picked '{0}'", appCulture);
    }

    [Fact]
    public async Task RequestLocalizationOfTheApp_WithoutSpanish_KeepsItsEnglishForAnAcceptLanguageEs()
    {
        await using var app = await BareApp.StartAsync(requestLocalization: ["en"]);
        app.Client.DefaultRequestHeaders.Add("Accept-Language", "es");

        var problem = await (await app.Client.PostAsJsonAsync("/signup/start", new { })).Content.ReadFromJsonAsync<JsonElement>();

        problem.GetProperty("title").GetString().Should().Be(Texts.English["Problem.validation"]);
    }

    [Fact]
    public async Task NoRequestLocalization_TheEndpointsPickTheLanguageThemselves()
    {
        await using var app = await BareApp.StartAsync(requestLocalization: null);
        app.Client.DefaultRequestHeaders.Add("Accept-Language", "es-AR,en;q=0.5");

        var problem = await (await app.Client.PostAsJsonAsync("/signup/start", new { })).Content.ReadFromJsonAsync<JsonElement>();

        problem.GetProperty("title").GetString().Should().Be(Texts.SpanishOnly["Problem.validation"]);
    }

    [Fact]
    public async Task AppTexts_AddFrench_FrenchAnswersAndMessages_WithEnglishForWhatItDoesNotTranslate()
    {
        await using var app = await BareApp.StartAsync(requestLocalization: null, french: true);
        app.Client.DefaultRequestHeaders.Add("Accept-Language", "fr-CA");
        var email = TestData.Email("l10n-fr-app");

        var validation = await (await app.Client.PostAsJsonAsync("/signup/start", new { })).Content.ReadFromJsonAsync<JsonElement>();
        await (await app.Client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var invalid = await (await app.Client.VerifySignupAsync(email, "000000")).Content.ReadFromJsonAsync<JsonElement>();

        validation.GetProperty("title").GetString().Should().Be("La requête n'est pas valide.");
        invalid.GetProperty("title").GetString().Should().Be(Texts.English["Problem.invalid_code"]);
        app.Outbox.List(email).Should().ContainSingle().Which.Subject.Should().EndWith(" : votre code de vérification");
    }

    [Fact]
    public void Options_UnknownSupportedCultureOrBadWebOtpHost_StopTheAppNamingTheKey()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification(o =>
        {
            o.Messages.SupportedCultures = ["en", "xx-NOT-A-CULTURE"];
            o.Messages.WebOtpHost = "https://app.example.com/";
        });
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>().Value;

        act.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .Which.Failures.Should().Contain(f => f.Contains("OtpSignup:Messages:SupportedCultures", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("OtpSignup:Messages:WebOtpHost", StringComparison.Ordinal));
    }

    private sealed class BareApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private BareApp(WebApplication app)
        {
            _app = app;
            Client = app.GetTestClient();
            Outbox = app.Services.GetRequiredService<DevOutbox>();
        }

        public HttpClient Client { get; }

        public DevOutbox Outbox { get; }

        public static async Task<BareApp> StartAsync(string[]? requestLocalization, bool french = false)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            var otp = builder.Services.AddOtpSignup<OtpSignupForm>(o =>
            {
                o.Abuse.MaxSendsPerClientPerHour = 0;
                if (french)
                {
                    o.Messages.SupportedCultures = ["en", "es", "fr"];
                }
            }).CompleteWith<NobodyCompletion>();
            if (french)
            {
                otp.AddTexts(typeof(FrenchTexts));
            }

            var app = builder.Build();
            app.Services.GetRequiredService<DevOutbox>().WriteToConsole = false;
            if (requestLocalization is { } cultures)
            {
                app.UseRequestLocalization(new RequestLocalizationOptions()
                    .SetDefaultCulture(cultures[0])
                    .AddSupportedCultures(cultures)
                    .AddSupportedUICultures(cultures));
            }

            app.MapOtpSignup<OtpSignupForm>();
            await app.StartAsync();
            return new BareApp(app);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _app.DisposeAsync();
        }
    }

    private sealed class NobodyCompletion : IOtpSignupCompletion<OtpSignupForm>
    {
        public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(false);

        public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(OtpSignupForm form, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyDictionary<string, string[]>>(new Dictionary<string, string[]>());

        public ValueTask<OtpCompletionResult> CompleteAsync(OtpSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
            => ValueTask.FromResult(OtpCompletionResult.Created("1", null));
    }
}
