using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore.Tests.Localization;

/// <summary>The sample for the localization tests: no per-client limit (every scenario comes from one client), two codes per address and hour, SMS only to US numbers.</summary>
public sealed class LocalizedSampleAppFactory : SampleAppFactory
{
    /// <summary>Creates the factory.</summary>
    public LocalizedSampleAppFactory()
    {
        WithSetting("OtpSignup:Abuse:MaxSendsPerClientPerHour", "0");
        WithSetting("OtpSignup:Resend:MaxPerHour", "2");
        WithSetting("OtpSignup:Abuse:SmsRegions:0", "US");
    }
}

/// <summary>
/// CONTRACT.md: "Messages follow Accept-Language (at least en and es): problem titles, validation
/// messages, and the email/SMS texts. The code members never change with the language."
/// Every problem code documented in docs/problems.md is produced over HTTP in Spanish.
/// </summary>
public sealed class LocalizationTests(LocalizedSampleAppFactory app) : IClassFixture<LocalizedSampleAppFactory>
{
    private const string Sms = "+14155550123";

    public static TheoryData<string> DocumentedCodes => new(Texts.DocumentedCodes);

    /// <summary>How to make each documented code happen. A new code needs an entry here (the test says so), its titles in OtpTexts.resx and OtpTexts.es.resx, and its row in docs/problems.md.</summary>
    private Dictionary<string, Func<HttpClient, Task<HttpResponseMessage>>> Scenarios => new(StringComparer.Ordinal)
    {
        ["validation"] = c => c.PostJsonAsync("/signup/start", new { }),
        ["unsupported_media_type"] = c => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("email=a@example.com", Encoding.UTF8, "text/plain")),
        ["payload_too_large"] = c => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("{\"name\":\"" + new string('a', 70_000) + "\"}", Encoding.UTF8, "application/json")),
        ["invalid_proof"] = c => c.PostJsonAsync("/signup/start", new { password = TestData.Password, name = "Ana", phone = Sms, deviceId = "device-l10n", phoneProof = "CfDJ8forged-proof-that-no-key-ring-made" }),
        ["flow_expired"] = c => c.VerifySignupAsync(TestData.Email("l10n-flow"), "123456", flowId: "never-issued-flow-id"),
        ["invalid_code"] = async c =>
        {
            var email = await StartedAsync(c, "l10n-invalid");
            return await c.VerifySignupAsync(email, TestData.WrongCode(await app.ReadCodeAsync(email)));
        },
        ["code_expired"] = async c =>
        {
            var email = await StartedAsync(c, "l10n-expired");
            var code = await app.ReadCodeAsync(email);
            app.Clock.Advance(TimeSpan.FromMinutes(11));
            return await c.VerifySignupAsync(email, code);
        },
        ["max_attempts"] = async c =>
        {
            var email = await StartedAsync(c, "l10n-max");
            var wrong = TestData.WrongCode(await app.ReadCodeAsync(email));
            for (var i = 0; i < 5; i++)
            {
                await c.VerifySignupAsync(email, wrong);
            }

            return await c.VerifySignupAsync(email, wrong);
        },
        ["device_mismatch"] = async c =>
        {
            var email = TestData.Email("l10n-device");
            await (await c.StartSignupAsync(email, deviceId: "device-a")).ShouldBeAcceptedAsync();
            return await c.VerifySignupAsync(email, await app.ReadCodeAsync(email), deviceId: "device-b");
        },
        ["email_taken"] = async c =>
        {
            var email = TestData.Email("l10n-taken");
            await app.CreateUserAsync(email, TestData.Password);
            await (await c.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            return await c.VerifySignupAsync(email, await app.ReadCodeAsync(email));
        },
        ["too_frequent"] = async c =>
        {
            var email = await StartedAsync(c, "l10n-frequent");
            return await c.StartSignupAsync(email);
        },
        ["rate_limited"] = async c =>
        {
            var email = await StartedAsync(c, "l10n-rate");
            app.Clock.Advance(TimeSpan.FromSeconds(61));
            await (await c.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
            return await c.StartSignupAsync(email);
        },
        ["unavailable"] = async _ =>
        {
            await using var down = new SampleAppFactory()
                .WithServices(s => s.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore, UnavailableStore>()));
            using var client = Client(down, "es");
            var response = await client.StartSignupAsync(TestData.Email("l10n-down"));
            await response.Content.LoadIntoBufferAsync();
            return response;
        },
    };

    [Theory]
    [MemberData(nameof(DocumentedCodes))]
    public async Task Problem_EveryDocumentedCodeWithAcceptLanguageEs_HasTheSpanishTitleAndTheSameCode(string code)
    {
        Scenarios.Should().ContainKey(code, "every code in docs/problems.md is walked in Spanish: add a scenario that produces it to LocalizationTests.Scenarios");
        using var client = Client(app, "es");

        var problem = await ProblemAsync(await Scenarios[code](client));

        problem.GetProperty("code").GetString().Should().Be(code);
        var title = problem.GetProperty("title").GetString();
        title.Should().Be(Texts.SpanishOnly.GetValueOrDefault("Problem." + code), "the title comes from OtpTexts.es.resx (key Problem.{0})", code)
            .And.NotBe(Texts.English["Problem." + code]);
    }

    [Theory]
    [MemberData(nameof(DocumentedCodes))]
    public void Problem_EveryDocumentedCode_HasAnEnglishAndASpanishTitle(string code)
    {
        Texts.English.Should().ContainKey("Problem." + code);
        Texts.SpanishOnly.Should().ContainKey("Problem." + code).WhoseValue.Should().NotBe(Texts.English["Problem." + code]);
    }

    [Fact]
    public void BuiltInTexts_EveryEnglishKey_HasItsOwnSpanishTextWithTheSamePlaceholders()
    {
        var untranslated = Texts.English
            .Where(e => !Texts.SpanishOnly.TryGetValue(e.Key, out var es) || es == e.Value || Placeholders(es) != Placeholders(e.Value))
            .Select(e => e.Key);

        untranslated.Should().BeEmpty();
        Texts.SpanishOnly.Keys.Should().BeSubsetOf(Texts.English.Keys, "a Spanish text without an English one is a typo in a key");
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("de-DE, fr;q=0.8")]
    [InlineData("")]
    public async Task Problem_UnsupportedOrNoLanguage_FallsBackToEnglishWithTheSameCode(string language)
    {
        using var client = Client(app, language);
        var email = await StartedAsync(client, "l10n-fr");

        var problem = await ProblemAsync(await client.VerifySignupAsync(email, TestData.WrongCode(await app.ReadCodeAsync(email))));

        problem.GetProperty("code").GetString().Should().Be("invalid_code");
        problem.GetProperty("title").GetString().Should().Be(Texts.English["Problem.invalid_code"]);
    }

    [Theory]
    [InlineData("es-MX")]
    [InlineData("fr;q=0.9, es;q=0.5")]
    [InlineData("ES")]
    public async Task Problem_SpanishByRegionOrQuality_IsAnsweredInSpanish(string language)
    {
        using var client = Client(app, language);

        var problem = await ProblemAsync(await client.PostJsonAsync("/signup/start", new { }));

        problem.GetProperty("title").GetString().Should().Be(Texts.SpanishOnly["Problem.validation"]);
    }

    [Fact]
    public async Task Problem_TypeUri_IsTheSameInEveryLanguage()
    {
        using var es = Client(app, "es");
        using var en = Client(app, "en");

        var inSpanish = await ProblemAsync(await es.PostJsonAsync("/signup/start", new { }));
        var inEnglish = await ProblemAsync(await en.PostJsonAsync("/signup/start", new { }));

        inSpanish.GetProperty("type").GetString().Should().Be(inEnglish.GetProperty("type").GetString());
    }

    /// <summary>Validation messages that need a setup the sample cannot make over HTTP: no channel lacks a sender in Development, and the framework rejects a body before the library reads it.</summary>
    private static readonly string[] NotReachableOverHttpHere = ["Validation.ChannelUnavailable", "Validation.BadRequest", "Validation.Invalid"];

    [Fact]
    public async Task Validation_EveryMessageWithAcceptLanguageEs_ComesFromTheSpanishTexts()
    {
        using var c = Client(app, "es");
        var longText = new string('9', 600);
        var requests = new List<Func<Task<HttpResponseMessage>>>
        {
            () => c.PostJsonAsync("/signup/start", new { }),
            () => c.StartSignupAsync("not-an-email", password: longText, phone: "12", channel: "pigeon", deviceId: new string('d', 200)),
            () => c.StartSignupAsync(TestData.Email("l10n-sms"), channel: "sms"),
            () => c.StartSignupAsync(TestData.Email("l10n-uk"), phone: "+44 7911 123456"),
            () => c.StartSignupAsync(TestData.Email("l10n-weak"), password: TestData.WeakPassword),
            () => c.StartSignupAsync(TestData.Email("l10n-short"), password: "Ab1!"),
            () => c.StartSignupAsync(TestData.Email("l10n-upper"), password: "PASSWORD1!"),
            () => c.StartSignupAsync("o'neil-" + Guid.NewGuid().ToString("N") + "@example.com"),
            () => c.PostJsonAsync("/signup/verify", new { email = "" }),
            () => c.PostJsonAsync("/signup/verify", new { email = "ana@example.com", flowId = new string('f', 100), code = longText, deviceId = new string('d', 200) }),
            () => c.PostJsonAsync("/signup/verify?useCookies=maybe", new { }),
            () => c.PostJsonAsync("/signup/resend", new { email = "nope" }),
            () => c.PostJsonAsync("/password-reset/start", new { email = "" }),
            () => c.PostJsonAsync("/password-reset/complete", new { email = "ana@example.com", code = "123456", flowId = "x" }),
            () => c.PostJsonAsync("/password-reset/complete", new { email = "ana@example.com", code = "123456", flowId = "x", newPassword = longText }),
            () => c.PostJsonAsync("/signup/start", new { password = TestData.Password, name = "Ana", phoneProof = "CfDJ8forged" }),
            () => c.PostJsonAsync("/phone-verification/start", new { }),
            () => c.PostJsonAsync("/signin/code/start", new { }),
            () => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent(string.Empty, Encoding.UTF8, "application/json")),
            () => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("null", Encoding.UTF8, "application/json")),
            () => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("{\"email\":\"a@example.com\",\"Email\":\"b@example.com\"}", Encoding.UTF8, "application/json")),
            () => c.PostAsync(new Uri("/signup/start", UriKind.Relative), new StringContent("{\"email\":42}", Encoding.UTF8, "application/json")),
        };

        var messages = new List<string>();
        foreach (var request in requests)
        {
            var problem = await ProblemAsync(await request());
            problem.GetProperty("code").GetString().Should().Be("validation");
            foreach (var field in problem.GetProperty("errors").EnumerateObject())
            {
                messages.AddRange(field.Value.EnumerateArray().Select(m => m.GetString()!));
            }
        }

        // The sample's own form messages come from its SampleTexts.es.resx (an app adding texts).
        var fromSample = new[] { "El nombre es obligatorio." };
        var notSpanish = messages.Where(m => !fromSample.Contains(m) && (Texts.SpanishKeyOf(m) is null || Texts.EnglishKeyOf(m) is not null));
        notSpanish.Should().BeEmpty("every validation message in Spanish comes from OtpTexts.es.resx");
        messages.Should().Contain(fromSample);

        var covered = messages.Select(Texts.SpanishKeyOf).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var validationKeys = Texts.English.Keys.Where(k => k.StartsWith("Validation.", StringComparison.Ordinal)).Except(NotReachableOverHttpHere);
        validationKeys.Should().BeSubsetOf(covered, "each validation message is produced here in Spanish");
        covered.Should().Contain(["Identity.PasswordRequiresDigit", "Identity.PasswordRequiresUpper", "Identity.PasswordRequiresNonAlphanumeric", "Identity.PasswordTooShort", "Identity.PasswordRequiresLower"]);
    }

    [Fact]
    public async Task Email_SignupWithAcceptLanguageEs_IsInSpanishInTextAndHtml()
    {
        using var client = Client(app, "es-ES");
        var email = await StartedAsync(client, "l10n-mail");

        var message = (await app.ReadOutboxMessagesAsync(email)).Should().ContainSingle().Subject;

        message.Subject.Should().Contain("código");
        message.Body.Should().Contain("código").And.Contain("Caduca en 10 minutos");
        message.Html.Should().Contain("<html lang=\"es\">").And.Contain("código").And.Contain("¿No fuiste tú?");
        message.Culture.Should().Be("es");
    }

    [Fact]
    public async Task Email_PasswordResetWithAcceptLanguageEs_IsInSpanishThoughSentAfterTheAnswer()
    {
        var email = TestData.Email("l10n-reset");
        await app.CreateUserAsync(email, TestData.Password);
        using var client = Client(app, "es");

        await (await client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();

        var message = (await app.ReadOutboxMessagesAsync(email)).Should().ContainSingle().Subject;
        message.Subject.Should().Contain("restablecer la contraseña");
        message.Body.Should().Contain("código");
    }

    [Fact]
    public async Task Sms_WithAcceptLanguageEs_IsInSpanishAndEndsWithTheWebOtpLineOfTheRequestHost()
    {
        using var client = Client(app, "es");
        var email = TestData.Email("l10n-sms-es");
        await (await client.StartSignupAsync(email, phone: Sms, channel: "sms")).ShouldBeAcceptedAsync();

        var sms = (await app.ReadOutboxMessagesAsync(Sms)).First(m => m.Channel == "sms");
        var code = await app.ReadCodeAsync(Sms);

        sms.Body.Should().Contain("código").And.EndWith("\n\n@localhost #" + code);
        sms.Html.Should().BeNull();
    }

    [Fact]
    public async Task Email_WithAcceptLanguageFr_FallsBackToEnglish()
    {
        using var client = Client(app, "fr-FR");
        var email = await StartedAsync(client, "l10n-mail-fr");

        var message = (await app.ReadOutboxMessagesAsync(email)).Should().ContainSingle().Subject;

        message.Subject.Should().Contain("your verification code");
        message.Body.Should().NotContain("código");
    }

    private async Task<string> StartedAsync(HttpClient client, string tag)
    {
        var email = TestData.Email(tag);
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        return email;
    }

    private static HttpClient Client(SampleAppFactory factory, string language)
    {
        var client = factory.CreateClient();
        if (language.Length > 0)
        {
            client.DefaultRequestHeaders.Add("Accept-Language", language);
        }

        return client;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static string Placeholders(string text)
        => string.Join(",", System.Text.RegularExpressions.Regex.Matches(text, @"\{\d+\}").Select(m => m.Value).Order(StringComparer.Ordinal));
}
