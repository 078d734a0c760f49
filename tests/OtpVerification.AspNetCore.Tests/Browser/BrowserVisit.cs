using Microsoft.Playwright;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace OtpVerification.AspNetCore.Tests.Browser;

/// <summary>
/// One test's browser context and page. Numbers and saves a screenshot per step (and a
/// <c>failed</c> one when the test body throws), forwards the page's console and its 4xx/5xx
/// answers to the test output, and records uncaught script errors. Disposal closes the context.
/// </summary>
public sealed class BrowserVisit : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly string _screenshotDirectory;
    private readonly ITestOutputHelper _output;
    private readonly List<string> _pageErrors = [];
    private int _step;

    internal BrowserVisit(IBrowserContext context, IPage page, string screenshotDirectory, ITestOutputHelper output)
    {
        _context = context;
        _screenshotDirectory = screenshotDirectory;
        _output = output;
        Page = page;
        Signup = new SignupPage(page);

        if (Directory.Exists(screenshotDirectory))
        {
            Directory.Delete(screenshotDirectory, recursive: true);
        }

        Directory.CreateDirectory(screenshotDirectory);
        page.Console += (_, message) => Log($"[console.{message.Type}] {message.Text} ({message.Location})");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                Log($"[http {response.Status}] {response.Request.Method} {response.Url}");
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_pageErrors)
            {
                _pageErrors.Add(error);
            }

            Log($"[pageerror] {error}");
        };
    }

    /// <summary>The page.</summary>
    public IPage Page { get; }

    /// <summary>The signup page's parts and moves.</summary>
    public SignupPage Signup { get; }

    /// <summary>The browser context (cookies, the API request context that shares them).</summary>
    public IBrowserContext Context => _context;

    /// <summary>Uncaught script errors seen so far.</summary>
    public IReadOnlyList<string> PageErrors
    {
        get
        {
            lock (_pageErrors)
            {
                return [.. _pageErrors];
            }
        }
    }

    /// <summary>Saves <c>NN-{name}.png</c> of the whole page, with CSS animations run to their end.</summary>
    public async Task ScreenshotAsync(string name)
    {
        var path = Path.Combine(_screenshotDirectory, $"{++_step:00}-{name}.png");
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled });
    }

    /// <summary>
    /// Runs a test body; when it throws, saves a <c>failed</c> screenshot and rethrows, leading
    /// with the page's first uncaught script error if there was one. When it completes, checks
    /// that the page threw no uncaught script error.
    /// </summary>
    public async Task RunAsync(Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            await body();
        }
        catch (Exception exception)
        {
            await TryScreenshotAsync("failed");
            if (PageErrors is [var first, ..] errors)
            {
                // A script error usually explains the failed expectation better than the expectation does.
                throw new XunitException(
                    $"The page threw {errors.Count} uncaught script error(s); the first: {string.Join(' ', first.Split('\n').Take(2).Select(line => line.Trim()))}. Then: {exception.Message}",
                    exception);
            }

            throw;
        }

        PageErrors.Should().BeEmpty("the page should run without uncaught script errors");
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();

    private async Task TryScreenshotAsync(string name)
    {
        try
        {
            await ScreenshotAsync(name);
        }
        catch (PlaywrightException exception)
        {
            Log($"Could not save the {name} screenshot: {exception.Message}");
        }
    }

    private void Log(string line)
    {
        try
        {
            _output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has finished: nobody is listening any more.
        }
    }
}
