namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>
/// Start requests for distinct addresses, built up front so a benchmark allocates nothing of its
/// own. When the pool wraps, the clock jumps past the cooldown and the hourly window, so a
/// recycled address is never refused.
/// </summary>
internal sealed class StartRequestPool
{
    private readonly OtpStartRequest[] _requests;
    private readonly BenchmarkClock _clock;
    private int _next;

    public StartRequestPool(int size, string addressPrefix, byte[] payload, BenchmarkClock clock)
    {
        _requests = new OtpStartRequest[size];
        for (var i = 0; i < size; i++)
        {
            _requests[i] = EngineSetup.StartRequest(EngineSetup.Address(addressPrefix, i), payload);
        }

        _clock = clock;
    }

    public int Size => _requests.Length;

    public OtpStartRequest Next()
    {
        if (_next == _requests.Length)
        {
            _next = 0;
            _clock.Advance(EngineSetup.PoolWrapJump);
        }

        return _requests[_next++];
    }
}
