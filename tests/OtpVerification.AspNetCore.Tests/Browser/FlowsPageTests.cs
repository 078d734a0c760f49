using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The sample's flows page (<c>flows.html</c>, linked from the signup page) in headless Chromium:
/// a phone signup and a phone-first signup with the codes read from the development outbox, and a
/// passwordless sign-in. Screenshots land in <c>artifacts/screenshots/FlowsPageTests.{test}/</c>.
/// </summary>
public sealed partial class FlowsPageTests(SampleSiteFixture site, ITestOutputHelper output) : IClassFixture<SampleSiteFixture>
{
    [Fact]
    public async Task PhoneSignup_CodeFromTheOutbox_SignsInAsThePhone()
    {
        var phone = NewPhone();
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Page;
            await page.ClickAsync("#link-phone-signup");
            await page.FillAsync("#phone-signup-name", "Li");
            await page.FillAsync("#phone-signup-phone", phone);
            await page.FillAsync("#phone-signup-password", "S3cure-Passw0rd!");
            await visit.ScreenshotAsync("form-filled");
            await page.ClickAsync("#phone-signup-start");
            await Expect(page.Locator("#phone-signup-code")).ToBeVisibleAsync();

            await page.FillAsync("#phone-signup-code", await WaitForCodeAsync(phone));
            await visit.ScreenshotAsync("code-typed");
            await page.ClickAsync("#phone-signup-verify");

            await Expect(page.Locator("#flows-result")).ToHaveTextAsync($"Signed in as {phone}");
            await visit.ScreenshotAsync("signed-in");
        });
    }

    [Fact]
    public async Task PhoneFirst_VerifyThenRegister_SignsInWithoutASecondCode()
    {
        var phone = NewPhone();
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Page;
            await page.ClickAsync("#link-phone-first");
            await page.FillAsync("#proof-phone", phone);
            await page.ClickAsync("#proof-start");
            await page.FillAsync("#proof-code", await WaitForCodeAsync(phone));
            await page.ClickAsync("#proof-verify");
            await Expect(page.Locator("#proof-verified")).ToBeVisibleAsync();
            await visit.ScreenshotAsync("phone-verified");

            await page.FillAsync("#proof-name", "Ravi");
            await page.FillAsync("#proof-password", "S3cure-Passw0rd!");
            await page.ClickAsync("#proof-register");

            await Expect(page.Locator("#flows-result")).ToHaveTextAsync($"Signed in as {phone}");
            await visit.ScreenshotAsync("signed-in");
            (await ReadMessagesAsync(phone)).Should().ContainSingle("the proof replaces a second code");
        });
    }

    [Fact]
    public async Task SignInByCode_RegisteredEmail_SignsIn()
    {
        var email = $"signin-{Guid.NewGuid():N}@example.com";
        await RegisterAsync(email);
        await using var visit = await site.VisitAsync(ScreenshotFolder(), output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Page;
            await page.ClickAsync("#link-signin-code");
            await page.FillAsync("#signin-address", email);
            await page.ClickAsync("#signin-start");
            await Expect(page.Locator("#signin-code")).ToBeVisibleAsync();
            await visit.ScreenshotAsync("code-step");

            await page.FillAsync("#signin-code", await WaitForCodeAsync(email, purpose: "sign_in"));
            await page.ClickAsync("#signin-verify");

            await Expect(page.Locator("#flows-result")).ToHaveTextAsync($"Signed in as {email}");
            await visit.ScreenshotAsync("signed-in");
        });
    }

    private async Task RegisterAsync(string email)
    {
        var start = await site.Http.PostAsJsonAsync("signup/start", new { email, password = "S3cure-Passw0rd!", name = "Ana" });
        var flowId = (await start.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("flowId").GetString();
        var verify = await site.Http.PostAsJsonAsync("signup/verify", new { email, code = await WaitForCodeAsync(email), flowId });
        verify.EnsureSuccessStatusCode();
    }

    private async Task<IReadOnlyList<Message>> ReadMessagesAsync(string to)
        => await site.Http.GetFromJsonAsync<Message[]>($"dev/outbox?to={Uri.EscapeDataString(to)}") ?? [];

    /// <summary>Polls the outbox, as a user watches their phone, for the newest code of a purpose.</summary>
    private async Task<string> WaitForCodeAsync(string to, string? purpose = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var message = (await ReadMessagesAsync(to)).FirstOrDefault(m => purpose is null || m.Purpose == purpose);
            if (message is not null && Code().Match(message.Body ?? string.Empty) is { Success: true } match)
            {
                return match.Value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No code to {to} in the dev outbox within 10 s.");
            }

            await Task.Delay(100);
        }
    }

    private static string NewPhone() => "+1415" + Random.Shared.Next(2_000_000, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    private static string ScreenshotFolder([System.Runtime.CompilerServices.CallerMemberName] string test = "") => $"{nameof(FlowsPageTests)}.{test}";

    [GeneratedRegex(@"\b\d{4,10}\b")]
    private static partial Regex Code();

    private sealed record Message(string? To, string? Purpose, string? Body);
}
