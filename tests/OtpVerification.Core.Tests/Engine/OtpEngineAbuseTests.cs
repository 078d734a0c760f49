using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtpVerification.Senders;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>The engine's abuse defences: per-client limit, SMS country allow-list and budget, equal response times.</summary>
public sealed class OtpEngineAbuseTests
{
    private static OtpStartRequest Start(string address, string? client = null, bool decoy = false, params OtpDestination[] destinations) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = address,
        Destinations = destinations.Length > 0 ? destinations : [new OtpDestination(OtpChannel.Email, address)],
        Payload = [1],
        ClientKey = client,
        Decoy = decoy,
    };

    [Fact]
    public async Task StartAsync_ClientOverHourlyLimit_IsRateLimited()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 3);
        for (var i = 0; i < 3; i++)
        {
            (await h.Engine.StartAsync(Start($"u{i}@example.com", "203.0.113.7"))).Outcome.Should().Be(OtpOutcome.Accepted);
        }

        var refused = await h.Engine.StartAsync(Start("u3@example.com", "203.0.113.7"));

        refused.Outcome.Should().Be(OtpOutcome.RateLimited);
        refused.RetryAfter.Should().Be(TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task KnownClientRefusal_OnlyAfterTheStoreRefusedTheClient_AndUntilItsRetryTime()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        h.Engine.KnownClientRefusal(OtpPurpose.Signup, "203.0.113.7").Should().BeNull("nothing is known before any start");
        await h.Engine.StartAsync(Start("a@example.com", "203.0.113.7"));
        h.Engine.KnownClientRefusal(OtpPurpose.Signup, "203.0.113.7").Should().BeNull("the limit is used up, but the store has not refused yet");

        (await h.Engine.StartAsync(Start("b@example.com", "203.0.113.7"))).Outcome.Should().Be(OtpOutcome.RateLimited);

        var known = h.Engine.KnownClientRefusal(OtpPurpose.PasswordReset, "203.0.113.7");
        known.Should().NotBeNull();
        known!.Value.Outcome.Should().Be(OtpOutcome.RateLimited);
        known.Value.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromHours(1));
        h.Engine.KnownClientRefusal(OtpPurpose.Signup, "198.51.100.1").Should().BeNull("another client is not refused");
        h.Engine.KnownClientRefusal(OtpPurpose.Signup, null).Should().BeNull();

        h.Time.Advance(TimeSpan.FromHours(1));
        h.Engine.KnownClientRefusal(OtpPurpose.Signup, "203.0.113.7").Should().BeNull("the refusal ends with the retry time the store gave");
    }

    [Fact]
    public async Task StartAsync_ClientOverHourlyLimit_SendsNothingForTheRefusedRequest()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        await h.Engine.StartAsync(Start("a@example.com", "203.0.113.7"));

        await h.Engine.StartAsync(Start("b@example.com", "203.0.113.7"));

        h.Email.Messages.Select(m => m.To).Should().Equal("a@example.com");
    }

    [Fact]
    public async Task StartAsync_OtherClient_IsNotLimitedByTheFirst()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        await h.Engine.StartAsync(Start("a@example.com", "203.0.113.7"));

        var other = await h.Engine.StartAsync(Start("b@example.com", "198.51.100.1"));

        other.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_ClientLimitAfterTheHour_IsAcceptedAgain()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        await h.Engine.StartAsync(Start("a@example.com", "203.0.113.7"));
        h.Time.Advance(TimeSpan.FromHours(1));

        var again = await h.Engine.StartAsync(Start("b@example.com", "203.0.113.7"));

        again.Outcome.Should().Be(OtpOutcome.Accepted);
    }

    [Fact]
    public async Task StartAsync_Decoy_CountsAgainstTheClientLimit()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        await h.Engine.StartAsync(Start("registered@example.com", "203.0.113.7", decoy: true));

        var next = await h.Engine.StartAsync(Start("new@example.com", "203.0.113.7"));

        next.Outcome.Should().Be(OtpOutcome.RateLimited);
    }

    [Fact]
    public async Task ResendAsync_ClientOverHourlyLimit_IsRateLimited()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSendsPerClientPerHour = 1);
        await h.Engine.StartAsync(Start(EngineHarness.Address, "203.0.113.7"));
        h.Time.Advance(TimeSpan.FromMinutes(2));

        var resent = await h.Engine.ResendAsync(OtpPurpose.Signup, EngineHarness.Address, "203.0.113.7");

        resent.Outcome.Should().Be(OtpOutcome.RateLimited);
    }

    [Fact]
    public async Task StartAsync_SmsCountryNotAllowed_FallsBackToEmail()
    {
        using var h = new EngineHarness(o => o.Abuse.SmsCountryCodes = ["44"]);

        var result = await h.Engine.StartAsync(Start(EngineHarness.Address, null, false, new OtpDestination(OtpChannel.Sms, EngineHarness.Phone), new OtpDestination(OtpChannel.Email, EngineHarness.Address)));

        result.Outcome.Should().Be(OtpOutcome.Accepted);
        h.Sms.Messages.Should().BeEmpty();
        h.Email.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task StartAsync_SmsCountryAllowed_SendsTheSms()
    {
        using var h = new EngineHarness(o => o.Abuse.SmsCountryCodes = ["44", "1"]);

        await h.Engine.StartAsync(Start(EngineHarness.Address, null, false, new OtpDestination(OtpChannel.Sms, EngineHarness.Phone)));

        h.Sms.Messages.Should().ContainSingle().Which.To.Should().Be(EngineHarness.Phone);
    }

    [Fact]
    public async Task StartAsync_SmsBudgetUsedUp_SmsOnlyStartIsUnavailable()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSmsPerHour = 2);
        for (var i = 0; i < 2; i++)
        {
            await h.Engine.StartAsync(Start($"u{i}@example.com", null, false, new OtpDestination(OtpChannel.Sms, $"+1415555010{i}")));
        }

        var third = await h.Engine.StartAsync(Start("u9@example.com", null, false, new OtpDestination(OtpChannel.Sms, "+14155550109")));

        third.Outcome.Should().Be(OtpOutcome.Unavailable);
        h.Sms.Messages.Should().HaveCount(2);
    }

    [Fact]
    public async Task StartAsync_SmsBudgetUsedUp_LeavesNoPendingRegistration()
    {
        using var h = new EngineHarness(o => o.Abuse.MaxSmsPerHour = 1);
        await h.Engine.StartAsync(Start("first@example.com", null, false, new OtpDestination(OtpChannel.Sms, "+14155550100")));
        await h.Engine.StartAsync(Start(EngineHarness.Address, null, false, new OtpDestination(OtpChannel.Sms, EngineHarness.Phone)));

        var deleted = await h.Store.DeleteAsync(new OtpVerification.Stores.PendingKey(OtpPurpose.Signup, EngineHarness.Address));

        deleted.Should().BeFalse();
    }

    [Fact]
    public async Task StartAsync_PasswordReset_AnswersBeforeTheSenderFinishes_SoADecoyDoesTheSameWork()
    {
        var clock = new SteppingClock();
        var gated = new GatedSender();
        using var provider = BuildEngine(clock, gated, out var engine);

        var answer = await engine.StartAsync(Reset("real@example.com", decoy: false));

        answer.Outcome.Should().Be(OtpOutcome.Accepted, "the answer does not wait for the message");
        gated.Delivered.Should().Be(0);
        gated.Release();
        await engine.WhenDeliveredAsync();
        gated.Delivered.Should().Be(1);
        clock.RequestedDelays.Should().BeEmpty("no timer stands in for a delivery");
    }

    [Fact]
    public async Task StartAsync_Signup_AnswersOnlyOnceTheSenderTookTheCode()
    {
        var clock = new SteppingClock();
        var gated = new GatedSender();
        using var provider = BuildEngine(clock, gated, out var engine);

        var answer = engine.StartAsync(Start("new@example.com")).AsTask();
        await Task.Delay(50);
        answer.IsCompleted.Should().BeFalse("a signup answers 503 when no channel could deliver, so it waits for the sender");
        gated.Release();

        (await answer).Outcome.Should().Be(OtpOutcome.Accepted);
        gated.Delivered.Should().Be(1);
    }

    [Fact]
    public async Task StartAsync_DecoyWithEqualizingOff_DoesNotWait()
    {
        var clock = new SteppingClock();
        var slow = new SlowSender(clock, TimeSpan.FromMilliseconds(300));
        using var provider = BuildEngine(clock, slow, out var engine, o => o.Abuse.EqualizeResponseTimes = false);
        await engine.StartAsync(Start("new@example.com"));

        await engine.StartAsync(Start("registered@example.com", decoy: true));

        clock.RequestedDelays.Should().BeEmpty();
    }

    [Fact]
    public async Task ResendAsync_PasswordReset_AnswersBeforeTheSenderFinishes()
    {
        var clock = new SteppingClock();
        var gated = new GatedSender();
        using var provider = BuildEngine(clock, gated, out var engine);
        await engine.StartAsync(Reset("real@example.com", decoy: false));
        gated.Release();
        await engine.WhenDeliveredAsync();
        clock.Advance(TimeSpan.FromMinutes(1));
        gated.Hold();

        var answer = await engine.ResendAsync(OtpPurpose.PasswordReset, "real@example.com");

        answer.Outcome.Should().Be(OtpOutcome.Accepted);
        gated.Delivered.Should().Be(1, "the resent code is not out yet");
        gated.Release();
        await engine.WhenDeliveredAsync();
        gated.Delivered.Should().Be(2);
    }

    [Fact]
    public void Options_BadSmsCountryCode_FailsNamingTheKey()
    {
        using var services = new ServiceCollection().AddOtpVerification(o => o.Abuse.SmsCountryCodes = ["+44"]).Services.BuildServiceProvider();

        var read = () => services.GetRequiredService<IOptions<OtpVerificationOptions>>().Value;

        read.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("OtpSignup:Abuse:SmsCountryCodes");
    }

    private static OtpStartRequest Reset(string address, bool decoy) => new()
    {
        Purpose = OtpPurpose.PasswordReset,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        Decoy = decoy,
    };

    private static ServiceProvider BuildEngine(SteppingClock clock, IOtpSender sender, out OtpEngine engine, Action<OtpVerificationOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification(configure);
        services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
        services.AddSingleton(sender);
        var provider = services.BuildServiceProvider();
        engine = provider.GetRequiredService<OtpEngine>();
        return provider;
    }

    /// <summary>A clock whose timestamps move only when told, and whose timers fire at once, recording what was asked.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _ticks;
        private long _wallTicks = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

        public List<TimeSpan> RequestedDelays { get; } = [];

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Step(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _wallTicks), TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _wallTicks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (RequestedDelays)
            {
                RequestedDelays.Add(dueTime);
            }

            callback(state);
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>An email sender that "takes" a fixed time on the stepping clock.</summary>
    /// <summary>Holds every send until released.</summary>
    private sealed class GatedSender : IOtpSender
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _delivered;

        public OtpChannel Channel => OtpChannel.Email;

        public int Delivered => Volatile.Read(ref _delivered);

        public void Release() => _gate.TrySetResult();

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        {
            await _gate.Task;
            Interlocked.Increment(ref _delivered);
        }
    }

    private sealed class SlowSender(SteppingClock clock, TimeSpan duration) : IOtpSender
    {
        public OtpChannel Channel => OtpChannel.Email;

        public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        {
            clock.Step(duration);
            return ValueTask.CompletedTask;
        }
    }
}
