using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Senders;
using OtpVerification.Stores;
using OtpVerification.Testing;

namespace OtpVerification.Redis.Tests.Stores;

/// <summary>
/// The per-client limit on Redis, where its key and the address's are in different hash slots:
/// the engine sends the create beside the client check, and a refused client still leaves no
/// entry, gives the address its send slot back and puts back the flow the create replaced. A
/// client already refused costs no Redis call until its retry instant.
/// </summary>
public sealed class RedisClientLimitTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    // Per test (xUnit makes an instance per test): the classes' tests share one server.
    private readonly string _client = "client-" + Guid.NewGuid().ToString("N");
    private readonly string _otherClient = "other-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Start_ClientRefused_LeavesNoEntry()
    {
        await using var app = Build();
        var (first, refused) = (Address("first"), Address("refused"));
        await app.StartAsync(first, _client);

        var answer = await app.StartAsync(refused, _client);

        answer.Outcome.Should().Be(OtpOutcome.RateLimited);
        (await app.Store.DeleteAsync(new PendingKey(OtpPurpose.Signup, refused))).Should().BeFalse("a refused client leaves no entry");
    }

    [Fact]
    public async Task Start_ClientRefused_GivesTheAddressItsSendSlotBack()
    {
        await using var app = Build(cooldown: TimeSpan.FromMinutes(1));
        var (first, refused) = (Address("first"), Address("slot"));
        await app.StartAsync(first, _client);
        await app.StartAsync(refused, _client);

        var other = await app.StartAsync(refused, _otherClient);

        other.Outcome.Should().Be(OtpOutcome.Accepted, "the refused start's cooldown was given back");
    }

    [Fact]
    public async Task Start_ClientRefused_PutsBackTheFlowItReplaced()
    {
        await using var app = Build();
        var victim = Address("victim");
        var started = await app.StartAsync(victim, _otherClient);
        var code = app.Sender.Messages.Last(m => m.To == victim).Code;
        await app.StartAsync(Address("first"), _client);

        var refused = await app.StartAsync(victim, _client);
        var verified = await app.Engine.VerifyAsync(OtpPurpose.Signup, victim, started.FlowId!, code, null);

        refused.Outcome.Should().Be(OtpOutcome.RateLimited);
        verified.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task Start_ClientAlreadyRefused_SendsNoCommandToRedis()
    {
        await using var app = Build();
        await app.StartAsync(Address("first"), _client);
        await app.StartAsync(Address("second"), _client);
        var before = await ScriptCallsAsync();

        var again = await app.StartAsync(Address("third"), _client);

        again.Outcome.Should().Be(OtpOutcome.RateLimited);
        (await ScriptCallsAsync()).Should().Be(before);
    }

    private static string Address(string name) => $"{name}-{Guid.NewGuid():N}@example.com";

    /// <summary>EVALSHA and EVAL calls the server has answered so far (INFO commandstats).</summary>
    private async Task<long> ScriptCallsAsync()
    {
        var stats = await redis.CommandStatsAsync();
        return stats.GetValueOrDefault("evalsha").Calls + stats.GetValueOrDefault("eval").Calls;
    }

    private App Build(TimeSpan? cooldown = null)
    {
        var sender = new RecordingSender(OtpChannel.Email);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification(o =>
        {
            o.Code.HashKey = Convert.ToBase64String(new byte[32]);
            o.Abuse.MaxSendsPerClientPerHour = 1;
            o.Resend.Cooldown = cooldown ?? TimeSpan.Zero;
        }).AddRedisStore(redis.ConnectionString);
        services.AddSingleton<IOtpSender>(sender);
        return new App(services.BuildServiceProvider(), sender);
    }

    private sealed class App(ServiceProvider provider, RecordingSender sender) : IAsyncDisposable
    {
        public OtpEngine Engine { get; } = provider.GetRequiredService<OtpEngine>();

        public IPendingRegistrationStore Store { get; } = provider.GetRequiredService<IPendingRegistrationStore>();

        public RecordingSender Sender => sender;

        public ValueTask<OtpSendResult> StartAsync(string address, string client) => Engine.StartAsync(new OtpStartRequest
        {
            Purpose = OtpPurpose.Signup,
            Address = address,
            Destinations = [new OtpDestination(OtpChannel.Email, address)],
            Payload = [1, 2],
            ClientKey = client,
        });

        public ValueTask DisposeAsync() => provider.DisposeAsync();
    }
}
