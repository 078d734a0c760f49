using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore.Tests.Health;

/// <summary><c>GET /healthz</c> (CONTRACT.md): 200 while the pending-registration store answers, 503 when it does not.</summary>
public sealed class HealthzTests
{
    [Fact]
    public async Task Healthz_MemoryStore_Is200Healthy()
    {
        await using var factory = new SampleAppFactory();
        using var client = factory.CreateClient();

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        var body = await response.ShouldHaveJsonAsync(HttpStatusCode.OK);
        body.GetProperty("checks").GetProperty("otp-store").GetProperty("status").GetString().Should().Be("Healthy");
    }

    [Fact]
    public async Task Healthz_StoreDown_Is503WithRetryAfter()
    {
        await using var factory = new StoreDownSampleAppFactory();
        using var client = factory.CreateClient();

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        response.Headers.RetryAfter.Should().NotBeNull();
        var body = await response.ShouldHaveJsonAsync(HttpStatusCode.ServiceUnavailable);
        body.GetProperty("checks").GetProperty("otp-store").GetProperty("status").GetString().Should().Be("Unhealthy");
    }

    [Fact]
    public async Task Healthz_MemoryStoreNearlyFull_Is200DegradedNamingMaxPendingEntries()
    {
        await using var factory = new SampleAppFactory();
        factory.WithSetting("OtpSignup:MaxPendingEntries", "10");
        using var client = factory.CreateClient();
        var store = factory.Services.GetRequiredService<IPendingRegistrationStore>();
        var now = factory.Clock.GetUtcNow();
        for (var i = 0; i < 9; i++)
        {
            var address = $"fill-{i}@example.com";
            var destination = new OtpDestination(OtpChannel.Email, address);
            await store.CreateOrReplaceAsync(
                new PendingRegistration
                {
                    Key = new PendingKey(OtpPurpose.Signup, address),
                    FlowId = "flow",
                    CodeHash = new byte[32],
                    CodeExpiresAt = now.AddMinutes(10),
                    ExpiresAt = now.AddMinutes(30),
                    AttemptsLeft = 5,
                    Destinations = [destination],
                    DeliveredTo = destination,
                    Payload = [1],
                },
                new SendPolicy(TimeSpan.Zero, 5, TimeSpan.FromHours(1)),
                now);
        }

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        var check = (await response.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("checks").GetProperty("otp-store");
        (check.GetProperty("status").GetString(), check.GetProperty("description").GetString())
            .Should().Match<(string?, string?)>(c => c.Item1 == "Degraded" && c.Item2!.Contains("OtpSignup:MaxPendingEntries", StringComparison.Ordinal));
    }

    // Attack on issue 18 (eviction): the check compared the number of limit records (Count: every
    // address, client IP and phone with a send in the hour, up to 8 x MaxPendingEntries) with
    // MaxPendingEntries, and said new addresses are refused at that cap. Limit records alone,
    // far below MaxLimitRecords and with no registration pending, made it Degraded; and when
    // the records really were near MaxLimitRecords (starts refused with 503) it named the wrong key.
    [Fact]
    public async Task Healthz_MemoryStoreWithManyLimitRecordsButFewPendingRegistrations_IsHealthy()
    {
        await using var factory = new SampleAppFactory();
        factory.WithSetting("OtpSignup:MaxPendingEntries", "10");
        using var client = factory.CreateClient();
        var store = factory.Services.GetRequiredService<IPendingRegistrationStore>();
        for (var i = 0; i < 9; i++)
        {
            await store.ReserveSendAsync(new PendingKey(OtpPurpose.Signup, $"client:198.51.100.{i}"), new SendPolicy(TimeSpan.Zero, 30, TimeSpan.FromHours(1)), factory.Clock.GetUtcNow());
        }

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        var check = (await response.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("checks").GetProperty("otp-store");
        check.GetProperty("status").GetString().Should().Be("Healthy", "9 limit records of 80 and no pending registration are far from either cap");
    }

    [Fact]
    public async Task Healthz_MemoryStoreLimitRecordsNearlyFull_IsDegradedNamingMaxLimitRecords()
    {
        await using var factory = new SampleAppFactory();
        factory.WithSetting("OtpSignup:MaxPendingEntries", "10").WithSetting("OtpSignup:MaxLimitRecords", "20");
        using var client = factory.CreateClient();
        var store = factory.Services.GetRequiredService<IPendingRegistrationStore>();
        for (var i = 0; i < 19; i++)
        {
            await store.ReserveSendAsync(new PendingKey(OtpPurpose.Signup, $"fill-{i}@example.com"), new SendPolicy(TimeSpan.Zero, 5, TimeSpan.FromHours(1)), factory.Clock.GetUtcNow());
        }

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        var check = (await response.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("checks").GetProperty("otp-store");
        (check.GetProperty("status").GetString(), check.GetProperty("description").GetString())
            .Should().Match<(string?, string?)>(c => c.Item1 == "Degraded" && c.Item2!.Contains("OtpSignup:MaxLimitRecords", StringComparison.Ordinal), "new addresses get 503 once the limit records are full");
    }

    [Fact]
    public async Task Healthz_StoreWithPingCapability_FollowsThePing()
    {
        var store = new PingableStore();
        await using var factory = new SampleAppFactory();
        factory.WithServices(services => services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(store)));
        using var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode>();
        foreach (var up in new[] { true, false, true })
        {
            store.Up = up;
            statuses.Add((await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        }

        statuses.Should().Equal(HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
    }

    [Fact]
    public async Task AddOtpStoreHealthCheck_StoreDown_ReportsTheConfiguredFailureStatus()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification();
        services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore, UnavailableStore>());
        services.AddHealthChecks().AddOtpStoreHealthCheck(failureStatus: HealthStatus.Degraded);
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        report.Entries["otp-store"].Status.Should().Be(HealthStatus.Degraded);
    }

    /// <summary>A store that answers <see cref="IOtpStoreHealth.PingAsync"/> while <see cref="Up"/>; its other members are never called here.</summary>
    private sealed class PingableStore : IPendingRegistrationStore, IOtpStoreHealth
    {
        private readonly UnavailableStore _down = new();

        public volatile bool Up = true;

        public ValueTask PingAsync(CancellationToken cancellationToken = default)
            => Up ? ValueTask.CompletedTask : ValueTask.FromException(new OtpStoreUnavailableException("Ping failed."));

        public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => _down.CreateOrReplaceAsync(registration, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => _down.ReserveSendAsync(key, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => _down.ResendAsync(key, code, policy, now, cancellationToken);

        public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default) => _down.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken);

        public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default) => _down.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken);

        public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default) => _down.CancelSendAsync(key, codeHash, cancellationToken);

        public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default) => _down.PutBackAsync(registration, now, cancellationToken);

        public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default) => _down.DeleteAsync(key, cancellationToken);
    }
}
