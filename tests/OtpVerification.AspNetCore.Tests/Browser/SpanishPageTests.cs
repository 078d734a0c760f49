using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The sample's page in a Chromium whose language is Spanish (<c>es-ES</c>: <c>navigator.language</c>
/// and <c>Accept-Language</c>): the page's own texts, the server's validation messages and the
/// email are all Spanish. Screenshots in <c>artifacts/screenshots/SpanishPageTests.{test}/</c>.
/// </summary>
public sealed class SpanishPageTests(SampleSiteFixture site, ITestOutputHelper output) : IClassFixture<SampleSiteFixture>
{
    [Fact]
    public async Task Signup_BrowserInSpanish_PageServerMessagesAndEmailAreSpanish()
    {
        var email = $"es-{Guid.NewGuid():N}@example.com";
        await using var visit = await site.VisitAsync($"{nameof(SpanishPageTests)}.{nameof(Signup_BrowserInSpanish_PageServerMessagesAndEmailAreSpanish)}", output, locale: "es-ES");
        await visit.RunAsync(async () =>
        {
            var page = visit.Signup;
            await Expect(visit.Page.Locator("html")).ToHaveAttributeAsync("lang", "es");
            await Expect(visit.Page.Locator("#signup-title")).ToHaveTextAsync("Crea tu cuenta");
            await Expect(page.StartButton).ToHaveTextAsync("Continuar");
            await Expect(visit.Page.Locator("label[for=password]")).ToHaveTextAsync("Contraseña");

            // The server's validation messages (Identity's password rules) come back in Spanish.
            await page.FillSignupAsync("Ana", email, password: "password");
            await page.StartButton.ClickAsync();
            await Expect(visit.Page.Locator("#password-error")).ToContainTextAsync("La contraseña debe tener al menos");
            await visit.ScreenshotAsync("validation-es");

            await page.PasswordInput.FillAsync(SignupPage.Password);
            await page.SubmitSignupAsync();
            await Expect(visit.Page.Locator("#code-title")).ToHaveTextAsync("Revisa tu correo");
            await Expect(page.ExpiryCountdown).ToHaveTextAsync(new Regex(@"^El código caduca en (10:00|9:\d\d)$"));
            await visit.ScreenshotAsync("code-step-es");

            var message = site.OutboxMessages(email).Single();
            message.Subject.Should().Contain("código");
            message.Body.Should().Contain("código");
            message.Html.Should().Contain("lang=\"es\"").And.Contain("¿No fuiste tú?");
            var code = (await site.WaitForCodesAsync(email, 1))[0];

            await page.TypeCodeAsync(string.Concat(code.Select(c => (char)('0' + ((c - '0' + 1) % 10)))));
            await Expect(page.CodeError).ToHaveTextAsync("Código incorrecto. Quedan 4 intentos.");
            await visit.ScreenshotAsync("wrong-code-es");

            await page.TypeCodeAsync(code);
            await Expect(page.SignedIn).ToBeVisibleAsync();
            await Expect(visit.Page.Locator("#signed-in-title")).ToHaveTextAsync("Todo listo");
            await Expect(page.SignedInEmail).ToHaveTextAsync(email);
            await visit.ScreenshotAsync("signed-in-es");
        });
    }

    [Fact]
    public async Task Page_BrowserInSpanish_OffersWebOtpOnlyWhereTheBrowserHasIt()
    {
        await using var visit = await site.VisitAsync($"{nameof(SpanishPageTests)}.{nameof(Page_BrowserInSpanish_OffersWebOtpOnlyWhereTheBrowserHasIt)}", output, locale: "es-ES");
        await visit.RunAsync(async () =>
        {
            // Desktop Chromium has no OTPCredential: the page must not call navigator.credentials.get for an OTP.
            var hasWebOtp = await visit.Page.EvaluateAsync<bool>("() => 'OTPCredential' in window");
            await visit.Page.EvaluateAsync("() => { window.__otpAsked = 0; const get = navigator.credentials.get.bind(navigator.credentials); navigator.credentials.get = (o) => { if (o && o.otp) window.__otpAsked++; return get(o); }; }");
            var phoneEmail = $"es-sms-{Guid.NewGuid():N}@example.com";
            await visit.Signup.FillSignupAsync("Li", phoneEmail);
            await visit.Page.Locator("#phone").FillAsync("+14155550123");
            await visit.Page.Locator("#channel-sms").CheckAsync();
            await visit.Signup.SubmitSignupAsync();
            await Expect(visit.Page.Locator("#code-title")).ToHaveTextAsync("Revisa tu teléfono");

            var asked = await visit.Page.EvaluateAsync<int>("() => window.__otpAsked");
            asked.Should().Be(hasWebOtp ? 1 : 0);
            visit.PageErrors.Should().BeEmpty();
        });
    }
}
