using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>
/// The per-client limit checked beside the create (a store whose client check answers later, as
/// Redis does): a refused client leaves no entry and takes no send slot of the address, and a
/// client already refused is answered without a store call until its retry instant.
/// </summary>
public sealed class OtpEngineClientGateTests
{
    private const string Client = "203.0.113.7";

    private static OtpStartRequest Start(string address, string? client = Client) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        Payload = [1],
        ClientKey = client,
    };

    private static EngineHarness Harness(SlowClientCheckStore store, int maxPerClient = 1) => new(
        o => o.Abuse.MaxSendsPerClientPerHour = maxPerClient,
        s => s.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(sp => store.On(sp.GetRequiredService<TimeProvider>()))));

    [Fact]
    public async Task StartAsync_ClientCheckAnswersLater_CreateIsSentBeforeTheCheckIsAwaited()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);

        (await h.Engine.StartAsync(Start("a@example.com"))).Outcome.Should().Be(OtpOutcome.Accepted);

        store.CreatesSentWhileACheckWasPending.Should().Be(1);
    }

    [Fact]
    public async Task StartAsync_ClientRefusedWhileTheCreateRan_LeavesNoEntry()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        await h.Engine.StartAsync(Start("a@example.com"));

        var refused = await h.Engine.StartAsync(Start("b@example.com"));

        refused.Outcome.Should().Be(OtpOutcome.RateLimited);
        (await store.DeleteAsync(new PendingKey(OtpPurpose.Signup, "b@example.com"))).Should().BeFalse("a refused client leaves no entry");
    }

    [Fact]
    public async Task StartAsync_ClientRefusedWhileTheCreateRan_PutsBackTheFlowItReplaced()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        var first = await h.Engine.StartAsync(Start(EngineHarness.Address, client: "198.51.100.1"));
        await h.Engine.StartAsync(Start("a@example.com"));
        h.Time.Advance(TimeSpan.FromMinutes(2));

        var refused = await h.Engine.StartAsync(Start(EngineHarness.Address));
        var verified = await h.VerifyAsync(h.Email.Messages.Last(m => m.To == EngineHarness.Address).Code, flowId: first.FlowId);

        refused.Outcome.Should().Be(OtpOutcome.RateLimited);
        verified.Outcome.Should().Be(OtpOutcome.Verified);
    }

    [Fact]
    public async Task StartAsync_ClientRefusedWhileTheCreateRan_GivesTheAddressItsSendSlotBack()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        await h.Engine.StartAsync(Start("a@example.com"));
        await h.Engine.StartAsync(Start("b@example.com"));

        var other = await h.Engine.StartAsync(Start("b@example.com", client: "198.51.100.1"));

        other.Outcome.Should().Be(OtpOutcome.Accepted, "the refused start's cooldown was given back");
    }

    [Fact]
    public async Task StartAsync_CreateFailsWhileTheClientIsAllowed_IsUnavailableAndTheClientSlotStaysTaken()
    {
        // Documented: as when the two checks ran one after the other, a client slot taken for a
        // start that then failed in the store is not given back (the store has no release for it).
        var store = new SlowClientCheckStore { FailCreates = true };
        using var h = Harness(store);

        var failed = await h.Engine.StartAsync(Start("a@example.com"));
        store.FailCreates = false;
        var next = await h.Engine.StartAsync(Start("b@example.com"));

        failed.Outcome.Should().Be(OtpOutcome.Unavailable);
        next.Outcome.Should().Be(OtpOutcome.RateLimited);
    }

    [Fact]
    public async Task StartAsync_ClientAlreadyRefused_IsAnsweredWithoutAStoreCall()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        await h.Engine.StartAsync(Start("a@example.com"));
        await h.Engine.StartAsync(Start("b@example.com"));
        var checks = store.ClientChecks;
        var creates = store.Creates;

        var again = await h.Engine.StartAsync(Start("c@example.com"));

        again.Outcome.Should().Be(OtpOutcome.RateLimited);
        (store.ClientChecks, store.Creates).Should().Be((checks, creates));
    }

    [Fact]
    public async Task StartAsync_ClientAlreadyRefused_RetryAfterCountsDownToTheStoresInstant()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        await h.Engine.StartAsync(Start("a@example.com"));
        var first = await h.Engine.StartAsync(Start("b@example.com"));
        h.Time.Advance(TimeSpan.FromMinutes(10));

        var later = await h.Engine.StartAsync(Start("c@example.com"));

        later.RetryAfter.Should().Be(first.RetryAfter - TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task StartAsync_ClientRefusedUntilAnInstant_AsksTheStoreAgainAfterIt()
    {
        var store = new SlowClientCheckStore();
        using var h = Harness(store);
        await h.Engine.StartAsync(Start("a@example.com"));
        var refused = await h.Engine.StartAsync(Start("b@example.com"));
        h.Time.Advance(refused.RetryAfter);

        var after = await h.Engine.StartAsync(Start("c@example.com"));

        after.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_ClientLimitRaisedAfterARefusal_AsksTheStoreAgain()
    {
        var store = new SlowClientCheckStore();
        var max = 1;
        using var h = new EngineHarness(
            o => o.Abuse.MaxSendsPerClientPerHour = max,
            s => s.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(sp => store.On(sp.GetRequiredService<TimeProvider>()))));
        var options = h.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<OtpVerificationOptions>>();
        await h.Engine.StartAsync(Start("a@example.com"));
        await h.Engine.StartAsync(Start("b@example.com"));

        options.CurrentValue.Abuse.MaxSendsPerClientPerHour = 2;
        var raised = await h.Engine.StartAsync(Start("c@example.com"));

        raised.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    /// <summary>The in-memory store, with a client check (the send limit of a <c>client:</c> key) that completes asynchronously, as a network store's does.</summary>
    private sealed class SlowClientCheckStore : IPendingRegistrationStore
    {
        private InMemoryPendingRegistrationStore _inner = new(1000);
        private int _pendingChecks;
        private TaskCompletionSource _createSent = new();

        /// <summary>Runs the in-memory store on the engine's clock.</summary>
        public SlowClientCheckStore On(TimeProvider time)
        {
            _inner = new InMemoryPendingRegistrationStore(1000, time);
            return this;
        }

        public bool FailCreates { get; set; }

        public int ClientChecks { get; private set; }

        public int Creates { get; private set; }

        public int CreatesSentWhileACheckWasPending { get; private set; }

        public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Creates++;
            if (Volatile.Read(ref _pendingChecks) > 0)
            {
                CreatesSentWhileACheckWasPending++;
            }

            _createSent.TrySetResult();

            return FailCreates
                ? ValueTask.FromException<SendGateResult>(new OtpStoreUnavailableException("create failed"))
                : _inner.CreateOrReplaceAsync(registration, policy, now, cancellationToken);
        }

        public async ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            if (!key.Address.StartsWith("client:", StringComparison.Ordinal))
            {
                return await _inner.ReserveSendAsync(key, policy, now, cancellationToken);
            }

            ClientChecks++;
            _createSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Increment(ref _pendingChecks);
            try
            {
                // Answers once the create went out (or after a while, for callers that send none).
                await Task.WhenAny(_createSent.Task, Task.Delay(TimeSpan.FromSeconds(2)));
                return await _inner.ReserveSendAsync(key, policy, now, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _pendingChecks);
            }
        }

        public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => _inner.ResendAsync(key, code, policy, now, cancellationToken);

        public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
            => _inner.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken);

        public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
            => _inner.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken);

        public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
            => _inner.CancelSendAsync(key, codeHash, cancellationToken);

        public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
            => _inner.PutBackAsync(registration, now, cancellationToken);

        public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
            => _inner.DeleteAsync(key, cancellationToken);
    }
}
