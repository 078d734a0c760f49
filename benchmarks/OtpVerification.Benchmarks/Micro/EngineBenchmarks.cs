using BenchmarkDotNet.Attributes;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Stores;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// <c>OtpEngine.StartAsync</c> (a new address each call) and <c>VerifyAsync</c> with a wrong code,
/// against one store. The payload is a fixed, already protected byte array and the sender does no
/// work, so the figures are the engine's and the store's own. Requests are built in the setup,
/// so the caller's objects (request, address) are not counted either.
/// </summary>
public abstract class EngineBenchmarks
{
    private const int VerifyKeys = 1024;
    private const string RightCode = "123456";
    private const string WrongCode = "000000";
    private const string VerifyFlow = "benchmark-flow";

    private readonly BenchmarkClock _clock = new();
    private StartRequestPool _starts = null!;
    private string[] _verifyAddresses = null!;
    private OtpEngine _engine = null!;
    private int _nextVerify;

    /// <summary>The size of the start pool: how many distinct addresses before the clock jumps and they are reused.</summary>
    protected abstract int StartPoolSize { get; }

    // Synchronous on purpose: the in-process toolchain does not await an async GlobalSetup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => DisposeStoreAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        var store = await CreateStoreAsync(_clock);
        var payload = EngineSetup.ProtectedTypicalForm();
        _engine = EngineSetup.Create(store, _clock);
        _starts = new StartRequestPool(StartPoolSize, "start", payload, _clock);

        // Entries to guess at: a right code that is never offered, and attempts that never run out.
        var hasher = new HmacOtpCodeHasher(new byte[32]);
        var now = _clock.GetUtcNow();
        _verifyAddresses = new string[VerifyKeys];
        for (var i = 0; i < VerifyKeys; i++)
        {
            var address = EngineSetup.Address("verify", i);
            _verifyAddresses[i] = address;
            var registration = new PendingRegistration
            {
                Key = new PendingKey(OtpPurpose.Signup, address),
                // As the engine stores a flow: its id bound to the address it was started for.
                FlowId = VerifyFlow + "|" + address,
                CodeHash = hasher.Hash(OtpPurpose.Signup, address, RightCode),
                CodeExpiresAt = now + TimeSpan.FromDays(30),
                ExpiresAt = now + TimeSpan.FromDays(30),
                AttemptsLeft = int.MaxValue,
                Destinations = [new OtpDestination(OtpChannel.Email, address)],
                DeliveredTo = new OtpDestination(OtpChannel.Email, address),
                Payload = payload,
            };
            var gate = await store.CreateOrReplaceAsync(registration, new SendPolicy(TimeSpan.Zero, int.MaxValue, TimeSpan.FromHours(1)), now);
            Expect(gate.Status == SendGateStatus.Allowed, $"seeding a verify entry: {gate.Status}");
        }

        // Check what the benchmarks rely on: two full turns of the start pool are all accepted
        // (the clock jump makes reused addresses sendable), and a wrong guess is InvalidCode.
        for (var i = 0; i < (2 * StartPoolSize) + 1; i++)
        {
            var started = await _engine.StartAsync(_starts.Next());
            Expect(started.Outcome == OtpOutcome.Accepted, $"start #{i}: {started.Outcome}");
        }

        for (var i = 0; i < 2 * VerifyKeys; i++)
        {
            var verified = await VerifyWrongCode();
            Expect(verified.Outcome == OtpOutcome.InvalidCode, $"verify #{i}: {verified.Outcome}");
        }
    }

    [Benchmark]
    public ValueTask<OtpSendResult> Start() => _engine.StartAsync(_starts.Next());

    [Benchmark]
    public ValueTask<OtpVerifyResult> VerifyWrongCode()
    {
        var address = _verifyAddresses[_nextVerify];
        _nextVerify = (_nextVerify + 1) % VerifyKeys;
        return _engine.VerifyAsync(OtpPurpose.Signup, address, VerifyFlow, WrongCode, deviceId: null);
    }

    protected abstract Task<IPendingRegistrationStore> CreateStoreAsync(TimeProvider clock);

    protected abstract ValueTask DisposeStoreAsync();

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: " + what);
        }
    }
}

/// <summary>The engine on <see cref="InMemoryPendingRegistrationStore"/>.</summary>
public class InMemoryEngineBenchmarks : EngineBenchmarks
{
    protected override int StartPoolSize => 1 << 16;

    protected override Task<IPendingRegistrationStore> CreateStoreAsync(TimeProvider clock) =>
        Task.FromResult<IPendingRegistrationStore>(new InMemoryPendingRegistrationStore(EngineSetup.Options().MaxPendingEntries, clock));

    protected override ValueTask DisposeStoreAsync() => ValueTask.CompletedTask;
}
