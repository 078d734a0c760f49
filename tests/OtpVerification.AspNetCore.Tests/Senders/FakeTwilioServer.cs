using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OtpVerification.AspNetCore.Tests.Senders;

/// <summary>What the fake Twilio API received.</summary>
internal sealed record TwilioRequest(
    string Method,
    string RawTarget,
    string? Authorization,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Form);

/// <summary>
/// A minimal Kestrel app on 127.0.0.1 (free port) standing in for api.twilio.com: records each
/// request exactly as it arrived and answers with whatever the test set in <see cref="Respond"/>.
/// </summary>
internal sealed class FakeTwilioServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<TwilioRequest> _requests = [];

    private FakeTwilioServer(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<TwilioRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Answers every request; by default 201 with a Twilio-like message resource.</summary>
    public Func<HttpContext, Task> Respond { get; set; } = Created;

    public static async Task<FakeTwilioServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeTwilioServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.BaseUrl = new Uri(address);
        return server;
    }

    public static Task Created(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        return context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["sid"] = "SM" + new string('a', 32),
            ["status"] = "queued",
            ["api_version"] = "2010-04-01",
            ["error_code"] = null,
        });
    }

    public static Func<HttpContext, Task> Error(int status, string json) => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var form = new List<KeyValuePair<string, string>>();
        if (context.Request.HasFormContentType)
        {
            foreach (var field in await context.Request.ReadFormAsync())
            {
                form.AddRange(field.Value.Select(v => new KeyValuePair<string, string>(field.Key, v ?? string.Empty)));
            }
        }

        lock (_requests)
        {
            _requests.Add(new TwilioRequest(
                context.Request.Method,
                context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget,
                context.Request.Headers.Authorization.ToString() is { Length: > 0 } auth ? auth : null,
                context.Request.ContentType,
                form));
        }

        await Respond(context);
    }
}
