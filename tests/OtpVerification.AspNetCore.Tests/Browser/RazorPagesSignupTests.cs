using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.RazorPages.Data;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The Razor Pages sample in headless Chromium: server-rendered forms with antiforgery tokens, the
/// engine called from page handlers, the flow id in a protected cookie, the app's own user table.
/// </summary>
public sealed class RazorPagesSignupTests(RazorPagesSiteFixture site, ITestOutputHelper output) : IClassFixture<RazorPagesSiteFixture>
{
    private const string Password = "Razor-Pages-2026";

    [Fact]
    public async Task Signup_WrongThenRightCode_CreatesTheUserAndSignsIn()
    {
        var email = $"razor-{Guid.NewGuid():N}@example.com";
        await using var visit = await site.VisitAsync("razor-pages-signup", output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Page;
            await page.GetByLabel("Name").FillAsync("Ana");
            await page.GetByLabel("Email").FillAsync(email);
            await page.GetByLabel("Password").FillAsync(Password);
            await visit.ScreenshotAsync("form");
            await page.GetByRole(AriaRole.Button, new() { Name = "Send me a code" }).ClickAsync();

            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Verify$"));
            (await CountUsersAsync(email)).Should().Be(0, "nothing is written before the code is verified");
            var code = (await site.ReadCodesAsync(email))[0];

            await page.GetByLabel("Code").FillAsync(TestData.WrongCode(code));
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
            await Expect(page.Locator("#errors")).ToContainTextAsync("4 attempts left");
            await visit.ScreenshotAsync("wrong-code");

            await page.GetByLabel("Code").FillAsync(code);
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Account$"));
            await Expect(page.Locator("#email")).ToHaveTextAsync(email);
            await Expect(page.Locator("#verified")).ToHaveTextAsync("yes");
            await visit.ScreenshotAsync("signed-in");
            (await CountUsersAsync(email)).Should().Be(1);
        });
    }

    [Fact]
    public async Task FlowCookie_IsHttpOnlyStrictAndOpaque()
    {
        var email = $"razor-cookie-{Guid.NewGuid():N}@example.com";
        await using var visit = await site.VisitAsync("razor-pages-flow-cookie", output);
        await visit.RunAsync(async () =>
        {
            var page = visit.Page;
            await page.GetByLabel("Name").FillAsync("Li");
            await page.GetByLabel("Email").FillAsync(email);
            await page.GetByLabel("Password").FillAsync(Password);
            await page.GetByRole(AriaRole.Button, new() { Name = "Send me a code" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/Verify$"));

            var cookie = (await visit.Context.CookiesAsync()).Single(c => c.Name == "otp-signup-flow");

            (cookie.HttpOnly, cookie.SameSite, cookie.Value.Contains(email.Split('@')[0], StringComparison.OrdinalIgnoreCase))
                .Should().Be((true, SameSiteAttribute.Strict, false));
        });
    }

    [Fact]
    public async Task Signup_PostWithoutAntiforgeryToken_IsRefused()
    {
        using var response = await site.Http.PostAsync(new Uri("/", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Name"] = "Mallory",
            ["Input.Email"] = $"razor-csrf-{Guid.NewGuid():N}@example.com",
            ["Input.Password"] = Password,
        }));

        ((int)response.StatusCode).Should().Be(400);
    }

    private async Task<int> CountUsersAsync(string email)
    {
        await using var scope = site.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Users.CountAsync(u => u.Email == email);
    }
}
