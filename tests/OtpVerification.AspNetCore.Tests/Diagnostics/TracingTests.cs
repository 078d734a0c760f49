using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Diagnostics;

namespace OtpVerification.AspNetCore.Tests.Diagnostics;

/// <summary>
/// The <c>OtpVerification</c> activity source: spans for start, resend, verify, store calls and
/// sends, tagged with purpose, channel and outcome, and never a code, a full address or a password.
/// One signup through the sample's endpoints (start, a wrong code, resend, the right code) is
/// recorded once, in a collection that runs alone, so every span recorded is this flow's.
/// </summary>
[Collection(nameof(TracingCollection))]
public sealed class TracingTests : IClassFixture<TracingTests.RecordedSignup>
{
    private readonly RecordedSignup _signup;

    public TracingTests(RecordedSignup signup) => _signup = signup;

    [Theory]
    [InlineData("otp.start", "accepted")]
    [InlineData("otp.resend", "accepted")]
    [InlineData("otp.verify", "invalid_code")]
    [InlineData("otp.verify", "verified")]
    public void EngineSpan_HasPurposeAndOutcome(string name, string outcome)
        => _signup.Activities.Should().Contain(a => a.OperationName == name
            && (string?)a.GetTagItem(OtpTracing.PurposeTag) == "signup"
            && (string?)a.GetTagItem(OtpTracing.OutcomeTag) == outcome);

    [Fact]
    public void StartSpan_HasTheChannel()
        => _signup.Activities.Should().Contain(a => a.OperationName == "otp.start" && (string?)a.GetTagItem(OtpTracing.ChannelTag) == "email");

    [Theory]
    [InlineData("otp.store.create_or_replace", "allowed")]
    [InlineData("otp.store.resend", "allowed")]
    [InlineData("otp.store.verify_and_consume", "invalid")]
    [InlineData("otp.store.verify_and_consume", "success")]
    public void StoreSpan_IsAChildOfItsEngineSpan(string name, string outcome)
        => _signup.Activities.Should().Contain(a => a.OperationName == name
            && a.Kind == ActivityKind.Client
            && (string?)a.GetTagItem(OtpTracing.OutcomeTag) == outcome
            && a.Parent != null && a.Parent.OperationName.StartsWith("otp.", StringComparison.Ordinal));

    [Fact]
    public void SendSpans_OnePerMessage_DeliveredByEmailToAMaskedAddress()
        => _signup.Activities.Where(a => a.OperationName == "otp.send" && (string?)a.GetTagItem(OtpTracing.MaskedAddressTag) == OtpAddress.Mask(_signup.Email))
            .Select(a => ((string?)a.GetTagItem(OtpTracing.ChannelTag), (string?)a.GetTagItem(OtpTracing.OutcomeTag), (string?)a.GetTagItem(OtpTracing.PurposeTag)))
            .Should().Equal(("email", "delivered", "signup"), ("email", "delivered", "signup"));

    [Fact]
    public void NoTagOrEvent_HoldsACodeAnAddressOrAPassword()
    {
        var secrets = _signup.Codes.Append(_signup.Email).Append(_signup.Email.Split('@')[0]).Append(TestData.Password).Append(_signup.FlowId).ToArray();

        var values = _signup.Activities
            .SelectMany(a => a.TagObjects.Select(t => t.Value?.ToString())
                .Concat(a.Events.SelectMany(e => e.Tags.Select(t => t.Value?.ToString()).Append(e.Name)))
                .Append(a.DisplayName).Append(a.StatusDescription).Append(a.OperationName))
            .Where(v => v is not null)
            .ToList();

        values.Should().NotContain(v => secrets.Any(s => v!.Contains(s, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>A signup with a wrong guess and a resend, recorded by an <see cref="ActivityListener"/> on the <c>OtpVerification</c> source.</summary>
    public sealed class RecordedSignup : IAsyncLifetime
    {
        private readonly ConcurrentQueue<Activity> _all = new();
        private readonly SampleAppFactory _factory = new();
        private readonly ActivityListener _listener;

        public RecordedSignup()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == OtpTracing.ActivitySourceName,
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _all.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public string Email { get; } = TestData.Email("trace");

        public string FlowId { get; private set; } = string.Empty;

        public IReadOnlyList<string> Codes { get; private set; } = [];

        /// <summary>The spans recorded while the flow ran.</summary>
        public IReadOnlyList<Activity> Activities { get; private set; } = [];

        public async Task InitializeAsync()
        {
            using var client = _factory.CreateClient();
            await (await client.StartSignupAsync(Email)).ShouldBeAcceptedAsync();
            FlowId = Api.FlowOf("/signup", Email);
            var first = await _factory.ReadCodeAsync(Email);
            (await client.VerifySignupAsync(Email, TestData.WrongCode(first))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
            _factory.Clock.Advance(TimeSpan.FromMinutes(6));
            await (await client.ResendSignupAsync(Email)).ShouldBeAcceptedAsync();
            var second = await _factory.ReadCodeAsync(Email);
            (await client.VerifySignupAsync(Email, second)).StatusCode.Should().Be(HttpStatusCode.OK);
            Codes = [first, second];

            // The collection runs alone: every span recorded is this flow's.
            Activities = [.. _all];
        }

        public async Task DisposeAsync()
        {
            _listener.Dispose();
            await _factory.DisposeAsync();
        }
    }
}

/// <summary>Tests that listen to a process-wide activity source run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(TracingCollection), DisableParallelization = true)]
public sealed class TracingCollection;
