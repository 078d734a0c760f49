using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Flooding many addresses from one client" and "Flooding one address with codes":
/// <c>Abuse:MaxSendsPerClientPerHour</c> (30) per client IP (IPv6 by /64) across addresses and
/// purposes, and <c>Resend:Cooldown</c> / <c>Resend:MaxPerHour</c> per address whatever the IP.
/// </summary>
public sealed class SendLimitTests(SendLimitTests.ClientIpAppFactory app) : IClassFixture<SendLimitTests.ClientIpAppFactory>
{
    private const int MaxSendsPerClientPerHour = 30;

    [Fact]
    public async Task Start_ManyEmailsFromOneIp_Returns429RateLimitedAfterTheClientLimit()
    {
        var client = app.CreateClientFrom("203.0.113.10");
        await UseUpClientLimitAsync(client, "ip-flood");

        var next = await client.StartSignupAsync(TestData.Email("ip-flood-next"));

        await next.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_FromAnotherIpAfterOneIpIsLimited_IsAccepted()
    {
        await UseUpClientLimitAsync(app.CreateClientFrom("203.0.113.11"), "ip-other");

        var other = await app.CreateClientFrom("203.0.113.12").StartSignupAsync(TestData.Email("ip-other-next"));

        await other.ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task SendEndpoints_MixedPurposesFromOneIp_ShareOneClientLimit()
    {
        var client = app.CreateClientFrom("203.0.113.13");
        for (var i = 0; i < MaxSendsPerClientPerHour / 3; i++)
        {
            await (await client.StartSignupAsync(TestData.Email("ip-mixed-start"))).ShouldBeAcceptedAsync();
            await (await client.ResendSignupAsync(TestData.Email("ip-mixed-resend"))).ShouldBeAcceptedAsync();
            await (await client.StartPasswordResetAsync(TestData.Email("ip-mixed-reset"))).ShouldBeAcceptedAsync();
        }

        var next = await client.StartPasswordResetAsync(TestData.Email("ip-mixed-next"));

        await next.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_FromIpv6AddressesInOneSlash64_ShareOneClientLimit()
    {
        for (var host = 1; host <= MaxSendsPerClientPerHour; host++)
        {
            var client = app.CreateClientFrom($"2001:db8:51:7::{host:x}");
            await (await client.StartSignupAsync(TestData.Email("ip6-flood"))).ShouldBeAcceptedAsync();
        }

        var sameNetwork = await app.CreateClientFrom("2001:db8:51:7:ffff:ffff:ffff:fffe").StartSignupAsync(TestData.Email("ip6-same"));

        await sameNetwork.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_FromAnotherSlash64AfterOneIsLimited_IsAccepted()
    {
        for (var host = 1; host <= MaxSendsPerClientPerHour; host++)
        {
            var client = app.CreateClientFrom($"2001:db8:52:7::{host:x}");
            await (await client.StartSignupAsync(TestData.Email("ip6-other"))).ShouldBeAcceptedAsync();
        }

        var otherNetwork = await app.CreateClientFrom("2001:db8:52:8::1").StartSignupAsync(TestData.Email("ip6-other-next"));

        await otherNetwork.ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task Start_OneAddressFromManyIpsWithinTheCooldown_Returns429TooFrequent()
    {
        var email = TestData.Email("addr-cooldown");
        await (await app.CreateClientFrom("198.51.100.20").StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var fromAnotherIp = await app.CreateClientFrom("198.51.100.21").StartSignupAsync(email);

        await fromAnotherIp.ShouldBeTooManyRequestsAsync("too_frequent");
    }

    [Fact]
    public async Task Resend_OneAddressFromManyIps_Returns429RateLimitedAfterMaxPerHour()
    {
        var email = TestData.Email("addr-hourly");
        await (await app.CreateClientFrom("198.51.100.30").StartSignupAsync(email)).ShouldBeAcceptedAsync();
        for (var send = 2; send <= 5; send++)
        {
            app.Clock.Advance(TimeSpan.FromSeconds(61));
            await (await app.CreateClientFrom($"198.51.100.{30 + send}").ResendSignupAsync(email)).ShouldBeAcceptedAsync();
        }

        app.Clock.Advance(TimeSpan.FromSeconds(61));
        var sixth = await app.CreateClientFrom("198.51.100.40").ResendSignupAsync(email);

        await sixth.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_ClientKnownToBeRefused_Gets429BeforeItsBodyIsValidated()
    {
        var client = app.CreateClientFrom("203.0.113.14");
        await (await client.PostJsonAsync("/signup/start", new { })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
        await UseUpClientLimitAsync(client, "ip-known");
        await (await client.StartSignupAsync(TestData.Email("ip-known-next"))).ShouldBeTooManyRequestsAsync("rate_limited");

        // The store refused this client: its next requests are refused before the body is read,
        // whatever they carry and whichever start they are (a flood costs no validation, no store call).
        await (await client.PostJsonAsync("/signup/start", new { })).ShouldBeTooManyRequestsAsync("rate_limited");
        await (await client.StartPasswordResetAsync(TestData.Email("ip-known-reset"))).ShouldBeTooManyRequestsAsync("rate_limited");
        await (await client.PostJsonAsync("/signin/code/start", new { email = TestData.Email("ip-known-signin") })).ShouldBeTooManyRequestsAsync("rate_limited");

        // Another client is untouched: its bad body is still a 400.
        await (await app.CreateClientFrom("203.0.113.15").PostJsonAsync("/signup/start", new { })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    private static async Task UseUpClientLimitAsync(HttpClient client, string tag)
    {
        for (var i = 0; i < MaxSendsPerClientPerHour; i++)
        {
            await (await client.StartSignupAsync(TestData.Email(tag))).ShouldBeAcceptedAsync();
        }
    }

    /// <summary>The sample, with each request's remote IP taken from a test header.</summary>
    public sealed class ClientIpAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public ClientIpAppFactory() => this.WithClientIpHeader();
    }
}

/// <summary>The per-client limit is counted in the store, so it holds across instances sharing one.</summary>
public sealed class SendLimitTwoInstanceTests : IAsyncLifetime
{
    private const int MaxSendsPerClientPerHour = 30;
    private readonly TwoInstances _instances = new();

    public Task InitializeAsync()
    {
        _instances.A.WithClientIpHeader();
        _instances.B.WithClientIpHeader();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _instances.DisposeAsync();

    [Fact]
    public async Task Start_OneIpSpreadOverTwoInstances_IsLimitedOnceForBoth()
    {
        const string ip = "203.0.113.50";
        var onA = _instances.A.CreateClientFrom(ip);
        var onB = _instances.B.CreateClientFrom(ip);
        for (var i = 0; i < MaxSendsPerClientPerHour / 2; i++)
        {
            await (await onA.StartSignupAsync(TestData.Email("two-a"))).ShouldBeAcceptedAsync();
            await (await onB.StartSignupAsync(TestData.Email("two-b"))).ShouldBeAcceptedAsync();
        }

        var nextOnA = await onA.StartSignupAsync(TestData.Email("two-a-next"));
        var nextOnB = await onB.StartSignupAsync(TestData.Email("two-b-next"));

        await nextOnA.ShouldBeTooManyRequestsAsync("rate_limited");
        await nextOnB.ShouldBeTooManyRequestsAsync("rate_limited");
    }

    [Fact]
    public async Task Start_OtherIpOnSecondInstanceAfterOneIpIsLimited_IsAccepted()
    {
        var limited = _instances.A.CreateClientFrom("203.0.113.51");
        for (var i = 0; i < MaxSendsPerClientPerHour; i++)
        {
            await (await limited.StartSignupAsync(TestData.Email("two-limited"))).ShouldBeAcceptedAsync();
        }

        var other = await _instances.B.CreateClientFrom("203.0.113.52").StartSignupAsync(TestData.Email("two-other"));

        await other.ShouldBeAcceptedAsync();
    }
}
