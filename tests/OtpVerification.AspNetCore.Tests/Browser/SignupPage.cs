using Microsoft.Playwright;
using Xunit.Sdk;
using static Microsoft.Playwright.Assertions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The sample's signup page (<c>samples/OtpVerification.Sample/wwwroot</c>), by the stable
/// selectors listed at the top of its <c>app.js</c>. Moves act like a user: they type, click and
/// paste, and wait for what the user would wait for with Playwright's auto-waiting assertions.
/// </summary>
public sealed class SignupPage(IPage page)
{
    /// <summary>A password that meets ASP.NET Core Identity's default policy.</summary>
    public const string Password = "S3cure-Passw0rd!";

    public ILocator Name => page.Locator("#name");

    public ILocator Email => page.Locator("#email");

    public ILocator PasswordInput => page.Locator("#password");

    public ILocator StartButton => page.Locator("#start-button");

    public ILocator CodeStep => page.Locator("#step-code");

    public ILocator Digits => page.Locator("#code-form .otp-digit");

    public ILocator ResendButton => page.Locator("#resend-button");

    public ILocator ResendCountdown => page.Locator("#resend-countdown");

    public ILocator ExpiryCountdown => page.Locator("#expiry-countdown");

    public ILocator CodeError => page.Locator("#code-error");

    public ILocator Status => page.Locator("#status");

    public ILocator SignedIn => page.Locator("#signed-in");

    public ILocator SignedInEmail => page.Locator("#signed-in-email");

    public ILocator VerifiedBadge => page.Locator("#verified-badge");

    /// <summary>Fills name, email and password on step 1.</summary>
    public async Task FillSignupAsync(string name, string email, string password = Password)
    {
        await Name.FillAsync(name);
        await Email.FillAsync(email);
        await PasswordInput.FillAsync(password);
    }

    /// <summary>Clicks Continue and waits for the code step.</summary>
    public async Task SubmitSignupAsync()
    {
        await StartButton.ClickAsync();
        await Expect(CodeStep).ToBeVisibleAsync();
        await Expect(Digits).ToHaveCountAsync(6);
    }

    /// <summary>
    /// Clicks the first box and types the code key by key, as a person does. After each key but the
    /// last it checks that the digit landed in its own box (the page moves the focus along); the
    /// last key submits the form by itself. <paramref name="beforeLastDigit"/> runs just before it.
    /// </summary>
    public async Task TypeCodeAsync(string code, Func<Task>? beforeLastDigit = null)
    {
        ArgumentNullException.ThrowIfNull(code);
        await Digits.First.ClickAsync();
        for (var i = 0; i < code.Length; i++)
        {
            if (i == code.Length - 1 && beforeLastDigit is not null)
            {
                await beforeLastDigit();
            }

            await page.Keyboard.PressAsync(code[i].ToString());
            if (i < code.Length - 1)
            {
                await ExpectDigitAsync(i, code[i], $"after typing {i + 1} of {code.Length} digits (the focus should move to the next box)");
            }
        }
    }

    /// <summary>Waits until the boxes hold <paramref name="code"/>, one digit each.</summary>
    public async Task ExpectDigitsAsync(string code, string when)
    {
        ArgumentNullException.ThrowIfNull(code);
        await Expect(Digits).ToHaveCountAsync(code.Length);
        for (var i = 0; i < code.Length; i++)
        {
            await ExpectDigitAsync(i, code[i], when);
        }
    }

    /// <summary>
    /// Puts <paramref name="text"/> on the clipboard, clicks the first box and presses Ctrl+V: the
    /// browser's own paste, which fires the page's <c>paste</c> handler with real clipboard data.
    /// </summary>
    public async Task PasteIntoFirstDigitAsync(string text)
    {
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        await page.EvaluateAsync("text => navigator.clipboard.writeText(text)", text);
        await Digits.First.ClickAsync();
        await page.Keyboard.PressAsync("ControlOrMeta+V");
    }

    /// <summary>Waits until every digit box is empty.</summary>
    public async Task ExpectDigitsClearedAsync(string when)
    {
        var count = await Digits.CountAsync();
        for (var i = 0; i < count; i++)
        {
            await ExpectDigitAsync(i, null, when);
        }
    }

    /// <summary>Checks that <paramref name="element"/>'s text stays inside its box (nothing spills sideways on a phone).</summary>
    public static async Task ExpectNoOverflowAsync(ILocator element, string when)
    {
        ArgumentNullException.ThrowIfNull(element);
        var widths = await element.EvaluateAsync<int[]>("e => [e.scrollWidth, e.clientWidth]");
        var textWidth = widths[0];
        textWidth.Should().BeLessThanOrEqualTo(widths[1], $"the text of {element} should wrap inside its {widths[1]}px-wide box {when}, not spill out of it");
    }

    /// <summary>Waits for step 3 to show <paramref name="email"/> with the Verified badge (shown only when <c>GET api/me</c> answered).</summary>
    public async Task ExpectSignedInAsync(string email)
    {
        await Expect(SignedIn).ToBeVisibleAsync();
        await Expect(SignedInEmail).ToHaveTextAsync(email);
        await Expect(VerifiedBadge).ToBeVisibleAsync();
    }

    // Playwright's own message says what it saw; this adds which box and at what moment.
    private async Task ExpectDigitAsync(int index, char? digit, string when)
    {
        var expected = digit?.ToString() ?? string.Empty;
        try
        {
            await Expect(Digits.Nth(index)).ToHaveValueAsync(expected);
        }
        catch (PlaywrightException exception)
        {
            throw new XunitException(
                $"Digit box {index + 1} should hold \"{expected}\" {when}, but it holds \"{await Digits.Nth(index).InputValueAsync()}\". {exception.Message}",
                exception);
        }
    }
}
