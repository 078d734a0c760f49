using BenchmarkDotNet.Attributes;
using OtpVerification.Benchmarks.Fixtures;
using OtpVerification.Redis;
using OtpVerification.Redis.Multiplexer;
using OtpVerification.Stores;
using StackExchange.Redis;

namespace OtpVerification.Benchmarks.Micro;

/// <summary>
/// <see cref="RedisPendingRegistrationStore"/> alone, one operation per call against a real
/// <c>redis-server</c> (started on a free loopback port, stopped afterwards): create a registration
/// for a new address, verify a wrong code, and reserve a send slot (the per-client check). The
/// registrations, keys and hashes are built in the setup, so the figures are the store's own and
/// StackExchange.Redis's (command, reply, the awaited round trip).
/// </summary>
public class RedisStoreBenchmarks
{
    private const int Pool = 1 << 14;
    private const int VerifyKeys = 1024;

    private static readonly SendPolicy Policy = new(TimeSpan.FromMinutes(1), 1000, TimeSpan.FromHours(1));
    private static readonly SendPolicy ClientPolicy = new(TimeSpan.Zero, int.MaxValue, TimeSpan.FromHours(1));

    private readonly BenchmarkClock _clock = new();
    private RedisServerProcess _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisPendingRegistrationStore _store = null!;
    private PendingRegistration[] _creates = null!;
    private PendingKey[] _verifyKeys = null!;
    private string[] _verifyFlows = null!;
    private byte[][][] _wrongHashes = null!;
    private PendingKey[] _clients = null!;
    private int _nextCreate;
    private int _nextVerify;
    private int _nextClient;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private async Task SetupAsync()
    {
        _server = await RedisServerProcess.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
        var hasher = new HmacOtpCodeHasher(new byte[32]);
        _store = new RedisPendingRegistrationStore(RedisMultiplexerSource.Shared(_connection), hasher, RedisStoreOptions.DefaultKeyPrefix, _clock);
        var payload = EngineSetup.ProtectedTypicalForm();
        var now = _clock.GetUtcNow();
        PendingRegistration Registration(string address) => new()
        {
            Key = new PendingKey(OtpPurpose.Signup, address),
            FlowId = "benchmark-flow|" + address,
            CodeHash = hasher.Hash(OtpPurpose.Signup, address, "123456"),
            ProtectedCode = new byte[34],
            // Far ahead, so the clock's jumps never expire them.
            CodeExpiresAt = now + TimeSpan.FromDays(300),
            ExpiresAt = now + TimeSpan.FromDays(300),
            AttemptsLeft = int.MaxValue,
            Destinations = [new OtpDestination(OtpChannel.Email, address)],
            DeliveredTo = new OtpDestination(OtpChannel.Email, address),
            Payload = payload,
        };

        _creates = Enumerable.Range(0, Pool).Select(i => Registration(EngineSetup.Address("create", i))).ToArray();
        _verifyKeys = new PendingKey[VerifyKeys];
        _verifyFlows = new string[VerifyKeys];
        _wrongHashes = new byte[VerifyKeys][][];
        for (var i = 0; i < VerifyKeys; i++)
        {
            var registration = Registration(EngineSetup.Address("verify", i));
            Expect((await _store.CreateOrReplaceAsync(registration, Policy, now)).Status == SendGateStatus.Allowed, "seeding a verify entry");
            _verifyKeys[i] = registration.Key;
            _verifyFlows[i] = registration.FlowId;
            _wrongHashes[i] = [hasher.Hash(OtpPurpose.Signup, registration.Key.Address, "000000")];
        }

        _clients = Enumerable.Range(0, VerifyKeys).Select(i => new PendingKey(OtpPurpose.Signup, "client:198.51.100." + i)).ToArray();

        // What the benchmarks rely on: two turns of the create pool are all allowed, a wrong guess is Invalid.
        for (var i = 0; i < (2 * Pool) + 1; i++)
        {
            Expect((await CreateOrReplace()).Status == SendGateStatus.Allowed, $"create #{i}");
        }

        for (var i = 0; i < 2 * VerifyKeys; i++)
        {
            Expect((await VerifyWrongCode()).Status == StoreVerifyStatus.Invalid, $"verify #{i}");
            Expect((await ReserveSend()).Status == SendGateStatus.Allowed, $"reserve #{i}");
        }
    }

    [Benchmark]
    public ValueTask<SendGateResult> CreateOrReplace()
    {
        if (_nextCreate == Pool)
        {
            _nextCreate = 0;
            _clock.Advance(EngineSetup.PoolWrapJump);
        }

        return _store.CreateOrReplaceAsync(_creates[_nextCreate++], Policy, _clock.GetUtcNow());
    }

    [Benchmark]
    public ValueTask<StoreVerifyResult> VerifyWrongCode()
    {
        var i = _nextVerify;
        _nextVerify = (i + 1) % VerifyKeys;
        return _store.VerifyAndConsumeAsync(_verifyKeys[i], _verifyFlows[i], _wrongHashes[i], null, _clock.GetUtcNow());
    }

    [Benchmark]
    public ValueTask<SendGateResult> ReserveSend()
    {
        var i = _nextClient;
        _nextClient = (i + 1) % VerifyKeys;
        return _store.ReserveSendAsync(_clients[i], ClientPolicy, _clock.GetUtcNow());
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: " + what);
        }
    }
}
