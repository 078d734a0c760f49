using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using OtpVerification.Senders;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>Hosting helpers for the security tests: client IPs, shared stores and clocks, slow senders, raw requests.</summary>
public static class SecurityHosting
{
    /// <summary>The request header the test middleware copies into <c>Connection.RemoteIpAddress</c>.</summary>
    public const string ClientIpHeader = "X-Test-Client-Ip";

    /// <summary>
    /// TestServer has no remote IP, so the default per-client key is null and the per-client
    /// limit never applies. This puts a middleware first in the pipeline that sets
    /// <c>Connection.RemoteIpAddress</c> from <see cref="ClientIpHeader"/>, so the library's
    /// default <c>OtpEndpointOptions.ClientKey</c> (remote IP, IPv6 by /64) is what is tested.
    /// </summary>
    /// <param name="factory">The app.</param>
    /// <returns>The app.</returns>
    public static SampleAppFactory WithClientIpHeader(this SampleAppFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.WithServices(services => services.AddTransient<IStartupFilter, ClientIpStartupFilter>());
    }

    /// <summary>A client whose requests come from <paramref name="ip"/> (needs <see cref="WithClientIpHeader"/>).</summary>
    /// <param name="factory">The app.</param>
    /// <param name="ip">The client's IP address.</param>
    /// <returns>The client.</returns>
    public static HttpClient CreateClientFrom(this SampleAppFactory factory, string ip)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add(ClientIpHeader, ip);
        return client;
    }

    /// <summary>Uses <paramref name="store"/> (one instance, shared with other hosts) as the pending-registration store.</summary>
    /// <param name="factory">The app.</param>
    /// <param name="store">The store.</param>
    /// <returns>The app.</returns>
    public static SampleAppFactory WithStore(this SampleAppFactory factory, IPendingRegistrationStore store)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.WithServices(services => services.Replace(ServiceDescriptor.Singleton(store)));
    }

    /// <summary>Runs the app on <paramref name="clock"/> (another host's clock) instead of its own.</summary>
    /// <param name="factory">The app.</param>
    /// <param name="clock">The clock.</param>
    /// <returns>The app.</returns>
    public static SampleAppFactory WithClock(this SampleAppFactory factory, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.WithServices(services => services.Replace(ServiceDescriptor.Singleton(clock)));
    }

    /// <summary>Adds <paramref name="sender"/> last, so it takes over its channel.</summary>
    /// <param name="factory">The app.</param>
    /// <param name="sender">The sender.</param>
    /// <returns>The app.</returns>
    public static SampleAppFactory WithSender(this SampleAppFactory factory, IOtpSender sender)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.WithServices(services => services.AddSingleton(sender));
    }

    /// <summary>Inserts registered, confirmed users straight into the user table (no password hashing: fast).</summary>
    /// <param name="factory">The app.</param>
    /// <param name="emails">Lower-case emails.</param>
    /// <returns>A task.</returns>
    public static async Task SeedUsersAsync(this SampleAppFactory factory, IEnumerable<string> emails)
    {
        ArgumentNullException.ThrowIfNull(factory);
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        foreach (var email in emails)
        {
            var upper = email.ToUpperInvariant();
            db.Users.Add(new AppUser { UserName = email, NormalizedUserName = upper, Email = email, NormalizedEmail = upper, EmailConfirmed = true, SecurityStamp = Guid.NewGuid().ToString("N") });
        }

        await db.SaveChangesAsync();
    }

    /// <summary>POSTs raw bytes with the given content type (none when null), optionally without a Content-Length.</summary>
    /// <param name="client">The client.</param>
    /// <param name="path">The path.</param>
    /// <param name="body">The body.</param>
    /// <param name="contentType">The full Content-Type header value, or null for none.</param>
    /// <param name="chunked">Send without Content-Length.</param>
    /// <returns>The response.</returns>
    public static async Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, byte[] body, string? contentType, bool chunked = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        using HttpContent content = chunked ? new ChunkedContent(body) : new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return await client.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    /// <summary>POSTs a UTF-8 JSON string as <c>application/json</c>.</summary>
    /// <param name="client">The client.</param>
    /// <param name="path">The path.</param>
    /// <param name="json">The body.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> PostJsonTextAsync(this HttpClient client, string path, string json)
        => client.PostRawAsync(path, Encoding.UTF8.GetBytes(json), "application/json");

    private sealed class ClientIpStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers.TryGetValue(ClientIpHeader, out var value) && IPAddress.TryParse(value.ToString(), out var ip))
                {
                    context.Connection.RemoteIpAddress = ip;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>A body sent without a Content-Length, so only reading it reveals its size.</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += 4096)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(4096, bytes.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>An email sender that takes 2 to 5 ms, like a fast real SMTP relay, and delivers nowhere.</summary>
public sealed class SlowEmailSender : IOtpSender
{
    /// <inheritdoc />
    public OtpChannel Channel => OtpChannel.Email;

    /// <inheritdoc />
    public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
#pragma warning disable CA5394 // Test latency jitter, not security.
        => await Task.Delay(TimeSpan.FromMilliseconds(2 + (Random.Shared.NextDouble() * 3)), cancellationToken);
#pragma warning restore CA5394
}

/// <summary>
/// Two instances of the sample sharing one pending-registration store instance (standing in for a
/// shared Redis), one clock and one SQLite user database. Each can be given its own settings
/// (HashKey, key ring directory). Advance <see cref="Clock"/> to move both.
/// </summary>
public sealed class TwoInstances : IAsyncDisposable
{
    private readonly List<string> _directories = [];

    /// <summary>Creates both hosts (not started until a client is created).</summary>
    /// <param name="configureA">Settings for host A.</param>
    /// <param name="configureB">Settings for host B.</param>
    public TwoInstances(Action<SampleAppFactory>? configureA = null, Action<SampleAppFactory>? configureB = null)
    {
        A = new SampleAppFactory();
        Store = new InMemoryPendingRegistrationStore(100_000, A.Clock);
        A.WithStore(Store);
        B = new SampleAppFactory()
            .WithStore(Store)
            .WithClock(A.Clock)
            .WithSetting("ConnectionStrings:Users", A.ConnectionString);
        configureA?.Invoke(A);
        configureB?.Invoke(B);
    }

    /// <summary>Host A; its database file is the one both use.</summary>
    public SampleAppFactory A { get; }

    /// <summary>Host B.</summary>
    public SampleAppFactory B { get; }

    /// <summary>The store both hosts use.</summary>
    public InMemoryPendingRegistrationStore Store { get; }

    /// <summary>The clock both hosts run on.</summary>
    public FakeTimeProvider Clock => A.Clock;

    /// <summary>A fresh base64 HashKey (32 random bytes).</summary>
    /// <returns>The key.</returns>
    public static string NewHashKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>A fresh, empty temporary directory for a key ring, deleted on dispose.</summary>
    /// <returns>The path.</returns>
    public string NewKeyRingDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), $"otp-keys-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        _directories.Add(path);
        return path;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
