using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The sample's signup page in a real headless Chromium against the sample on Kestrel: a user
/// fills the form, reads the code from the dev outbox (their "mailbox"), and types or pastes it.
/// Screenshots of every step land in <c>artifacts/screenshots/SignupPageTests.{test}/</c>.
/// </summary>
public sealed partial class SignupPageTests(SampleSiteFixture site, ITestOutputHelper output) : IClassFixture<SampleSiteFixture>
{
    [Fact]
    public async Task Signup_CodeTypedDigitByDigit_SignsInWithCookieSession()
    {
        var email = NewEmail("typed");
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Signup;
            await page.FillSignupAsync("Ana", email);
            await visit.ScreenshotAsync("form-filled");

            await page.SubmitSignupAsync();
            await Expect(page.ExpiryCountdown).ToHaveTextAsync(new Regex(@"^Code expires in (10:00|9:\d\d)$"));
            await visit.ScreenshotAsync("code-step");

            var code = (await site.WaitForCodesAsync(email, 1))[0];
            await page.TypeCodeAsync(code, beforeLastDigit: () => visit.ScreenshotAsync("code-almost-typed"));

            await page.ExpectSignedInAsync(email);
            await visit.ScreenshotAsync("signed-in");

            // The session is the HttpOnly cookie that verify?useCookies=true set: api/me answers with it.
            var cookies = await visit.Context.CookiesAsync();
            cookies.Should().Contain(c => c.Name == ".AspNetCore.Identity.Application" && c.HttpOnly, "verify?useCookies=true should sign in with an HttpOnly cookie");
            var me = await visit.Context.APIRequest.GetAsync(new Uri(site.BaseAddress, "api/me").ToString());
            me.Status.Should().Be(200);
            var body = await me.JsonAsync();
            body!.Value.GetProperty("email").GetString().Should().Be(email);
        });
    }

    [Fact]
    public async Task Verify_WrongCodeThenRightCode_ShowsAttemptsLeftClearsDigitsThenSignsIn()
    {
        var email = NewEmail("wrong");
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Signup;
            await page.FillSignupAsync("Bea", email);
            await page.SubmitSignupAsync();
            var code = (await site.WaitForCodesAsync(email, 1))[0];

            await page.TypeCodeAsync(WrongCode(code), beforeLastDigit: () => visit.ScreenshotAsync("wrong-code-almost-typed"));

            await Expect(page.CodeError).ToHaveTextAsync("Wrong code. 4 attempts left.");
            await page.ExpectDigitsClearedAsync("after a wrong code");
            await Expect(page.Digits.First).ToBeFocusedAsync();
            await visit.ScreenshotAsync("wrong-code-refused");

            await page.TypeCodeAsync(code);

            await page.ExpectSignedInAsync(email);
            await visit.ScreenshotAsync("signed-in");
        });
    }

    [Fact]
    public async Task Resend_AfterCountdownEnds_SendsTheSameCodeAgainAndItSignsIn()
    {
        var email = NewEmail("resend");
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Signup;
            await page.FillSignupAsync("Caio", email);
            await page.SubmitSignupAsync();

            // Right after start: the button is disabled and the countdown runs down.
            await Expect(page.ResendButton).ToBeDisabledAsync();
            await Expect(page.ResendCountdown).ToHaveTextAsync(ResendCountdownText());
            var first = CountdownSeconds(await page.ResendCountdown.TextContentAsync());
            await visit.ScreenshotAsync($"resend-disabled-{first}s");
            first.Should().BeGreaterThan(1, $"the page should still show most of the {SampleSiteFixture.ResendCooldown.TotalSeconds:0}-second cooldown right after the code step opens");
            await Expect(page.ResendCountdown).ToHaveTextAsync(new Regex($"^in 0:0[1-{first - 1}]$")); // lower, still running
            await Expect(page.ResendButton).ToBeDisabledAsync();
            await visit.ScreenshotAsync($"resend-disabled-{CountdownSeconds(await page.ResendCountdown.TextContentAsync())}s");

            // When it ends the button is enabled, and a click sends a second code.
            await Expect(page.ResendButton).ToBeEnabledAsync();
            await Expect(page.ResendCountdown).ToBeEmptyAsync();
            await visit.ScreenshotAsync("resend-enabled");

            await page.ResendButton.ClickAsync();
            await Expect(page.Status).ToContainTextAsync("Your code is on its way again");
            await Expect(page.ResendButton).ToBeDisabledAsync();
            await visit.ScreenshotAsync("resent");
            await SignupPage.ExpectNoOverflowAsync(page.Status, "when it names a long address");
            var codes = await site.WaitForCodesAsync(email, 2);
            codes.Should().HaveCount(2, "the outbox should hold the first code and the resent one");
            var (resentCode, firstCode) = (codes[0], codes[1]);
            resentCode.Should().Be(firstCode, "early in its lifetime a resend sends the same code again, so two messages never disagree");

            // A wrong code still counts against the same code's attempts; the code from either message works.
            await page.TypeCodeAsync(OtpVerification.AspNetCore.Tests.Hosting.TestData.WrongCode(firstCode));
            await Expect(page.CodeError).ToHaveTextAsync("Wrong code. 4 attempts left.");
            await visit.ScreenshotAsync("wrong-code-after-resend");

            await page.TypeCodeAsync(firstCode);
            await page.ExpectSignedInAsync(email);
            await visit.ScreenshotAsync("signed-in");
        });
    }

    [Fact]
    public async Task Paste_WholeCodeIntoFirstDigit_FillsEveryDigitAndSignsIn()
    {
        var email = NewEmail("paste");
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Signup;
            await page.FillSignupAsync("Dani", email);
            await page.SubmitSignupAsync();
            await visit.ScreenshotAsync("code-step");
            var code = (await site.WaitForCodesAsync(email, 1))[0];

            await page.PasteIntoFirstDigitAsync(code);

            await page.ExpectDigitsAsync(code, "after pasting the whole code into the first box");

            await page.ExpectSignedInAsync(email);
            await visit.ScreenshotAsync("signed-in");
        });
    }

    private static string NewEmail(string scenario) => $"{scenario}-{Guid.NewGuid():N}@example.com";

    // Every digit changed, so it can never be the right code.
    private static string WrongCode(string code) => string.Concat(code.Select(c => (char)('0' + ((c - '0' + 1) % 10))));

    private static int CountdownSeconds(string? text)
    {
        var match = ResendCountdownText().Match(text ?? string.Empty);
        match.Success.Should().BeTrue($"#resend-countdown should read \"in m:ss\", not \"{text}\"");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ScreenshotFolder([System.Runtime.CompilerServices.CallerMemberName] string test = "") => $"{nameof(SignupPageTests)}.{test}";

    [GeneratedRegex(@"^in 0:0(\d)$")]
    private static partial Regex ResendCountdownText();
}

