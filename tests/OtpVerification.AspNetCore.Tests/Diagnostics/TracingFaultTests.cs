using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Diagnostics;

namespace OtpVerification.AspNetCore.Tests.Diagnostics;

/// <summary>Spans when the store is down: the failed store call is an error span carrying the exception's type, never its message; start ends <c>unavailable</c>.</summary>
[Collection(nameof(TracingCollection))]
public sealed class TracingFaultTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private readonly StoreDownSampleAppFactory _factory = new();

    public TracingFaultTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == OtpTracing.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [Fact]
    public async Task StoreDown_StoreSpanIsAnErrorWithTheExceptionTypeOnly()
    {
        using var client = _factory.CreateClient();
        (await client.StartSignupAsync(TestData.Email("trace-down"))).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);

        _stopped.Where(a => a.OperationName.StartsWith("otp.store.", StringComparison.Ordinal))
            .Select(a => (a.Status, a.StatusDescription))
            .Should().NotBeEmpty().And.OnlyContain(s => s.Status == ActivityStatusCode.Error && s.StatusDescription == nameof(Stores.OtpStoreUnavailableException));
    }

    [Fact]
    public async Task StoreDown_StartSpanEndsUnavailable()
    {
        using var client = _factory.CreateClient();
        (await client.StartSignupAsync(TestData.Email("trace-down"))).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);

        _stopped.Should().Contain(a => a.OperationName == "otp.start" && (string?)a.GetTagItem(OtpTracing.OutcomeTag) == "unavailable" && a.Status == ActivityStatusCode.Error);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _factory.DisposeAsync();
    }
}
