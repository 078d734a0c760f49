using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using OtpVerification.Senders;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The sample app on Kestrel at a free 127.0.0.1 port (Development, so the dev outbox is on; a
/// temporary SQLite user database; a 3-second resend cooldown), and one headless Debian Chromium
/// driven by Playwright, shared by the browser tests of a class. Each test gets its own browser
/// context (cookies, localStorage), so tests never see each other's session or device id.
/// Fails, never skips, when Chromium is missing. Playwright's browser download is never used.
/// </summary>
public sealed partial class SampleSiteFixture : IAsyncLifetime
{
    /// <summary>Where Debian's <c>chromium</c> package puts the browser; <c>CHROMIUM_PATH</c> overrides it.</summary>
    public const string DefaultChromiumPath = "/usr/bin/chromium";

    /// <summary>The resend cooldown the site runs with: short enough to wait for, long enough to watch.</summary>
    public static readonly TimeSpan ResendCooldown = TimeSpan.FromSeconds(3);

    private static readonly Lazy<string> ScreenshotRootPath = new(() => Path.Combine(FindRepositoryRoot(), "artifacts", "screenshots"));

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "otp-browser-" + Guid.NewGuid().ToString("N"));
    private SampleFactory? _factory;
    private IPlaywright? _playwright;

    /// <summary>The site's root, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Plain HTTP to the site: how a test reads the dev outbox, like a user reading their mail.</summary>
    public HttpClient Http { get; } = new();

    /// <summary>The shared browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The SQLite file that holds the site's users.</summary>
    public string UserDatabasePath => Path.Combine(_dataDirectory, "users.db");

    /// <summary>The repository's <c>artifacts/screenshots/</c> folder (git-ignored), created on demand.</summary>
    public static string ScreenshotRoot => ScreenshotRootPath.Value;

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } custom ? custom : DefaultChromiumPath;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {chromium}. The browser tests drive a real Chromium and never download one: install chromium: apt-get install -y chromium (or set CHROMIUM_PATH).");
        }

        Directory.CreateDirectory(_dataDirectory);
        _factory = new SampleFactory(UserDatabasePath);
        _factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Http.BaseAddress = BaseAddress;

        _playwright = await Playwright.CreateAsync();
        Assertions.SetDefaultExpectTimeout(10_000); // two shared cores: give the page time, never sleep
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    /// <summary>Opens a fresh browser context and page on the site's root; screenshots go to <c>artifacts/screenshots/{testName}/</c>.</summary>
    /// <param name="testName">The test, for the screenshot folder.</param>
    /// <param name="output">The test's output.</param>
    /// <param name="locale">The browser's language (<c>navigator.language</c> and <c>Accept-Language</c>), e.g. <c>es-ES</c>; the browser's default when null.</param>
    public async Task<BrowserVisit> VisitAsync(string testName, ITestOutputHelper output, string? locale = null)
    {
        var context = await Browser.NewContextAsync(new()
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new() { Width = 480, Height = 900 },
            Locale = locale,
        });
        context.SetDefaultTimeout(10_000);
        var page = await context.NewPageAsync();
        var visit = new BrowserVisit(context, page, Path.Combine(ScreenshotRoot, testName), output);
        await page.GotoAsync("/");
        return visit;
    }

    /// <summary>The codes sent to <paramref name="email"/>, newest first, read from <c>GET /dev/outbox</c>.</summary>
    public async Task<IReadOnlyList<string>> ReadCodesAsync(string email)
    {
        var messages = await Http.GetFromJsonAsync<OutboxMessage[]>($"dev/outbox?to={Uri.EscapeDataString(email)}") ?? [];
        return [.. messages.Select(m => CodeInBody().Match(m.Body ?? string.Empty) is { Success: true } match
            ? match.Groups[1].Value
            : throw new InvalidOperationException($"No code in the message to {email}: \"{m.Body}\"."))];
    }

    /// <summary>The development outbox's messages to <paramref name="email"/>, HTML part and culture included.</summary>
    public IReadOnlyList<DevOutboxMessage> OutboxMessages(string email) => _factory!.Services.GetRequiredService<DevOutbox>().List(email);

    /// <summary>Polls the outbox (like a user refreshing their inbox) until <paramref name="count"/> codes arrived for <paramref name="email"/>.</summary>
    public async Task<IReadOnlyList<string>> WaitForCodesAsync(string email, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var codes = await ReadCodesAsync(email);
            if (codes.Count >= count)
            {
                return codes;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} message(s) to {email} in the dev outbox within 10 s, found {codes.Count}.");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        Http.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (directory.EnumerateFiles("*.sln").Any())
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No .sln file above {AppContext.BaseDirectory}: cannot place artifacts/screenshots.");
    }

    // The first number in the body, in any language ("…code is 123456.", "…es 123456.").
    [GeneratedRegex(@"\b(\d{4,10})\b")]
    private static partial Regex CodeInBody();

    private sealed record OutboxMessage(string? To, string? Body);

    /// <summary>The sample, configured for the browser tests.</summary>
    private sealed class SampleFactory(string userDatabasePath) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("ConnectionStrings:Users", $"Data Source={userDatabasePath}");
            builder.UseSetting("OtpSignup:Code:Lifetime", "00:10:00");
            builder.UseSetting("OtpSignup:Resend:Cooldown", ResendCooldown.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        }
    }
}
