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
using OtpVerification.Sample.RazorPages.Data;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// The Razor Pages sample (<c>samples/OtpVerification.Sample.RazorPages</c>) on Kestrel at a free
/// 127.0.0.1 port (Development: the dev outbox is on), with a temporary SQLite user database, and
/// one headless Debian Chromium driven by Playwright. Never downloads a browser; fails when
/// Chromium is missing.
/// </summary>
public sealed partial class RazorPagesSiteFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "otp-razor-" + Guid.NewGuid().ToString("N"));
    private WebApplicationFactory<UsersDbContext>? _factory;
    private IPlaywright? _playwright;

    /// <summary>The site's root.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Plain HTTP to the site, to read the dev outbox as a user reads their mail.</summary>
    public HttpClient Http { get; } = new();

    /// <summary>The shared browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The site's services (its user database).</summary>
    public IServiceProvider Services => _factory!.Services;

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } custom ? custom : SampleSiteFixture.DefaultChromiumPath;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"Chromium was not found at {chromium}: apt-get install -y chromium (or set CHROMIUM_PATH). The browser tests never download one.");
        }

        Directory.CreateDirectory(_dataDirectory);
        var database = Path.Combine(_dataDirectory, "users.db");
        _factory = new WebApplicationFactory<UsersDbContext>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("ConnectionStrings:Users", $"Data Source={database}");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        });
        _factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Http.BaseAddress = BaseAddress;

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    /// <summary>Opens a fresh browser context on the site's root; screenshots go to <c>artifacts/screenshots/{testName}/</c>.</summary>
    public async Task<BrowserVisit> VisitAsync(string testName, ITestOutputHelper output)
    {
        var context = await Browser.NewContextAsync(new() { BaseURL = BaseAddress.ToString(), ViewportSize = new() { Width = 480, Height = 900 } });
        context.SetDefaultTimeout(10_000);
        var page = await context.NewPageAsync();
        var visit = new BrowserVisit(context, page, Path.Combine(SampleSiteFixture.ScreenshotRoot, testName), output);
        await page.GotoAsync("/");
        return visit;
    }

    /// <summary>The codes sent to <paramref name="email"/>, newest first (<c>GET /dev/outbox</c>).</summary>
    public async Task<IReadOnlyList<string>> ReadCodesAsync(string email)
    {
        var messages = await Http.GetFromJsonAsync<OutboxMessage[]>($"dev/outbox?to={Uri.EscapeDataString(email)}") ?? [];
        return [.. messages.Select(m => CodeInBody().Match(m.Body ?? string.Empty) is { Success: true } match
            ? match.Groups[1].Value
            : throw new InvalidOperationException($"No code in the message to {email}."))];
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

    [GeneratedRegex(@"code is (\d{4,10})\b")]
    private static partial Regex CodeInBody();

    private sealed record OutboxMessage(string? To, string? Body);
}
