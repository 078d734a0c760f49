using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Diagnostics;
using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>
/// Issue 18: bots filling the in-memory store past <see cref="OtpVerificationOptions.MaxPendingEntries"/>
/// evict the oldest registrations instead of locking people out, and no address ever gets more
/// codes or guesses than its limits allow, whatever was evicted.
/// </summary>
public sealed class OtpEngineFloodTests
{
    private const int Cap = 200;

    private static OtpStartRequest Start(string address, string client) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        Payload = [1, 2, 3],
        ClientKey = client,
    };

    /// <summary>Bot starts from many clients, each under the per-client limit (10 of 30 an hour), ten a second.</summary>
    private static async Task FloodAsync(EngineHarness h, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            var result = await h.Engine.StartAsync(Start($"bot{i:D5}@bots.example", $"198.51.{i / 10 / 250}.{i / 10 % 250}"));
            result.Outcome.Should().Be(OtpOutcome.Accepted, "every bot start is taken: the store evicts instead of refusing");
            if (i % 10 == 9)
            {
                h.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }
    }

    private static async Task<(string Address, string FlowId)> PersonStartsAsync(EngineHarness h, string address, string client)
    {
        var result = await h.Engine.StartAsync(Start(address, client));
        result.Outcome.Should().Be(OtpOutcome.Accepted);
        return (address, result.FlowId!);
    }

    private static string CodeFor(EngineHarness h, string address) => h.Email.Messages.Last(m => m.To == address).Code;

    private static EngineHarness Harness(int maxLimitRecords = 10_000) => new(o => (o.MaxPendingEntries, o.MaxLimitRecords) = (Cap, maxLimitRecords));

    [Fact]
    public async Task VerifyAsync_PeopleWhoStartedBeforeDuringAndAfterAFloodPastTheCap_AllFinish()
    {
        using var h = Harness();
        await FloodAsync(h, 0, 60);                                   // older bot entries: evicted first
        var before = await PersonStartsAsync(h, "before@example.com", "203.0.113.1");
        await FloodAsync(h, 60, 150);                                 // past the cap: 11 evictions
        var during = await PersonStartsAsync(h, "during@example.com", "203.0.113.2");
        await FloodAsync(h, 210, 40);                                 // 41 more
        var after = await PersonStartsAsync(h, "after@example.com", "203.0.113.3");

        var outcomes = new List<OtpOutcome>();
        foreach (var (address, flowId) in new[] { before, during, after })
        {
            outcomes.Add((await h.Engine.VerifyAsync(OtpPurpose.Signup, address, flowId, CodeFor(h, address), null)).Outcome);
        }

        outcomes.Should().Equal(OtpOutcome.Verified, OtpOutcome.Verified, OtpOutcome.Verified);
    }

    [Fact]
    public async Task StartAsync_FloodPastTheCap_EvictsOnlyTheOldestEntries()
    {
        using var h = Harness();
        var store = (InMemoryPendingRegistrationStore)h.Store;

        await FloodAsync(h, 0, Cap + 52);

        (store.PendingCount, store.EvictedCount).Should().Be((Cap, 52L));
    }

    [Fact]
    public async Task VerifyAsync_PersonWhoseEntryWasTheOldest_IsFlowExpired()
    {
        using var h = Harness();
        var person = await PersonStartsAsync(h, "oldest@example.com", "203.0.113.1");
        await FloodAsync(h, 0, Cap);

        var result = await h.Engine.VerifyAsync(OtpPurpose.Signup, person.Address, person.FlowId, CodeFor(h, person.Address), null);

        result.Outcome.Should().Be(OtpOutcome.FlowExpired);
    }

    [Fact]
    public async Task StartAsync_PersonWhoseEntryWasEvicted_StartsAgainOnceTheCooldownIsOverAndFinishes()
    {
        using var h = Harness();
        var person = await PersonStartsAsync(h, "oldest@example.com", "203.0.113.1");
        await FloodAsync(h, 0, Cap);
        var tooSoon = (await h.Engine.StartAsync(Start(person.Address, "203.0.113.1"))).Outcome;
        h.Time.Advance(TimeSpan.FromMinutes(1));

        var again = await PersonStartsAsync(h, person.Address, "203.0.113.1");
        var verified = await h.Engine.VerifyAsync(OtpPurpose.Signup, again.Address, again.FlowId, CodeFor(h, again.Address), null);

        (tooSoon, verified.Outcome).Should().Be((OtpOutcome.TooFrequent, OtpOutcome.Verified));
    }

    [Fact]
    public async Task StartAsync_LimitRecordsFull_IsUnavailable()
    {
        // 2 limit records per bot start (its client and its address): 250 records hold 125 bots.
        using var h = Harness(maxLimitRecords: 250);
        for (var i = 0; i < 125; i++)
        {
            await h.Engine.StartAsync(Start($"bot{i}@bots.example", $"client-{i}"));
        }

        var result = await h.Engine.StartAsync(Start("person@example.com", "203.0.113.1"));

        result.Outcome.Should().Be(OtpOutcome.Unavailable);
    }

    [Fact]
    public async Task StartAsync_LimitRecordsFull_CountsEveryRefusalAndLogsOneWarningAMinute()
    {
        using var h = Harness(maxLimitRecords: Cap);
        long refusals = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == OtpMetrics.MeterName && instrument.Name == "otp_verification.store.capacity_refusals")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref refusals, value));
        listener.Start();
        var outcomes = new List<OtpOutcome>();
        for (var i = 0; i < Cap; i++)
        {
            outcomes.Add((await h.Engine.StartAsync(Start($"bot{i}@bots.example", $"client-{i}"))).Outcome);
        }

        var refused = outcomes.Count(o => o == OtpOutcome.Unavailable);
        var lines = h.Logs.Entries.Count(e => e.EventId.Name == "OtpStoreFull");
        // Two records per start (client, address): the first 100 starts fill the 200 records.
        (refused, Interlocked.Read(ref refusals), lines).Should().Be((100, 100L, 1));
    }

    /// <summary>
    /// The guess budget at the edges: an attacker restarts one address the moment the cooldown
    /// allows, guesses every code but its last attempt, and has a bot start evict the entry (its
    /// last attempt is lost, never refilled); for two hours. In no 60-minute span does the address
    /// get more than MaxPerHour codes or MaxAttempts x MaxPerHour evaluated guesses.
    /// </summary>
    [Fact]
    public async Task VerifyAsync_AttackerEvictingAndRestartingForTwoHours_NeverPassesTheHourlyGuessBudget()
    {
        using var h = new EngineHarness(o => (o.MaxPendingEntries, o.MaxLimitRecords, o.Abuse.MaxSendsPerClientPerHour) = (2, 10_000, 0));
        var options = h.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>().Value;
        const string target = "victim@example.com";
        var guesses = new List<DateTimeOffset>();
        var end = h.Time.GetUtcNow() + TimeSpan.FromHours(2);
        var bot = 0;
        while (h.Time.GetUtcNow() < end)
        {
            var started = await h.Engine.StartAsync(Start(target, "attacker"));
            if (started.Outcome == OtpOutcome.Accepted)
            {
                var code = CodeFor(h, target);
                for (var i = 0; i < options.Code.MaxAttempts - 1; i++)
                {
                    var guess = await h.Engine.VerifyAsync(OtpPurpose.Signup, target, started.FlowId!, EngineHarness.WrongCode(code), null);
                    if (guess.Outcome == OtpOutcome.InvalidCode)
                    {
                        guesses.Add(h.Time.GetUtcNow());
                    }
                }

                // Two bot starts: the target's entry is the one nearest its expiry and goes.
                await h.Engine.StartAsync(Start($"bot{bot++}@bots.example", "bots"));
                await h.Engine.StartAsync(Start($"bot{bot++}@bots.example", "bots"));
                var probe = await h.Engine.VerifyAsync(OtpPurpose.Signup, target, started.FlowId!, EngineHarness.WrongCode(code), null);
                probe.Outcome.Should().Be(OtpOutcome.FlowExpired, "the arrangement evicts the target's entry");
            }

            // The edge: exactly the cooldown later.
            h.Time.Advance(options.Resend.Cooldown);
        }

        var sends = h.Email.Messages.Where(m => m.To == target).Select(m => m.SentAt).ToList();
        var worstSends = sends.Max(t => sends.Count(s => s >= t && s < t + TimeSpan.FromHours(1)));
        var worstGuesses = guesses.Max(t => guesses.Count(g => g >= t && g < t + TimeSpan.FromHours(1)));
        (worstSends, worstGuesses <= options.Code.MaxAttempts * options.Resend.MaxPerHour, sends.Count).Should().Be((options.Resend.MaxPerHour, true, 2 * options.Resend.MaxPerHour));
    }

    /// <summary>
    /// The budget at the edges with main's same-code resend and undo: every cycle the attacker
    /// starts the moment the cooldown allows, guesses all but one attempt, asks a same-code resend
    /// a cooldown later whose delivery fails while they spend the last attempt on it (the undo puts
    /// the code back with the guesses kept and keeps the slot), then has bots evict the entry. For
    /// two hours no 60-minute span sees more than MaxPerHour sends tried or MaxAttempts x MaxPerHour
    /// guesses evaluated.
    /// </summary>
    [Fact]
    public async Task VerifyAsync_SameCodeResendsUndoneWhileGuessedThenEvicted_NeverPassTheHourlyBudget()
    {
        using var h = new EngineHarness(o => (o.MaxPendingEntries, o.MaxLimitRecords, o.Abuse.MaxSendsPerClientPerHour) = (2, 10_000, 0));
        var options = h.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>().Value;
        const string target = "victim@example.com";
        var guesses = new List<DateTimeOffset>();
        var tried = new List<DateTimeOffset>();
        var exhaustedAfterUndo = 0;
        var undone = 0;
        var end = h.Time.GetUtcNow() + TimeSpan.FromHours(2);
        var bot = 0;

        async Task GuessAsync(string flowId, string code)
        {
            if ((await h.Engine.VerifyAsync(OtpPurpose.Signup, target, flowId, EngineHarness.WrongCode(code), null)).Outcome == OtpOutcome.InvalidCode)
            {
                guesses.Add(h.Time.GetUtcNow());
            }
        }

        while (h.Time.GetUtcNow() < end)
        {
            var started = await h.Engine.StartAsync(Start(target, "attacker"));
            if (started.Outcome == OtpOutcome.Accepted)
            {
                tried.Add(h.Time.GetUtcNow());
                var flowId = started.FlowId!;
                var code = CodeFor(h, target);
                for (var i = 0; i < options.Code.MaxAttempts - 1; i++)
                {
                    await GuessAsync(flowId, code);
                }

                h.Time.Advance(options.Resend.Cooldown);
                h.Email.FailWith(_ =>
                {
                    tried.Add(h.Time.GetUtcNow());
                    undone++;
                    GuessAsync(flowId, code).GetAwaiter().GetResult();
                    return new OtpVerification.Senders.OtpDeliveryException("down (test)");
                });
                await h.Engine.ResendAsync(OtpPurpose.Signup, target, "attacker");
                h.Email.Succeed();
                var probe = await h.Engine.VerifyAsync(OtpPurpose.Signup, target, flowId, EngineHarness.WrongCode(code), null);
                if (probe.Outcome == OtpOutcome.MaxAttempts)
                {
                    exhaustedAfterUndo++;
                }
                else if (probe.Outcome == OtpOutcome.InvalidCode)
                {
                    guesses.Add(h.Time.GetUtcNow());
                }

                await h.Engine.StartAsync(Start($"bot{bot++}@bots.example", "bots"));
                await h.Engine.StartAsync(Start($"bot{bot++}@bots.example", "bots"));
                (await h.Engine.VerifyAsync(OtpPurpose.Signup, target, flowId, code, null)).Outcome.Should().Be(OtpOutcome.FlowExpired, "the arrangement evicts the target's entry");
            }

            h.Time.Advance(options.Resend.Cooldown);
        }

        var worstTried = tried.Max(t => tried.Count(s => s >= t && s < t + TimeSpan.FromHours(1)));
        var worstGuesses = guesses.Max(t => guesses.Count(g => g >= t && g < t + TimeSpan.FromHours(1)));
        (worstTried, worstGuesses <= options.Code.MaxAttempts * options.Resend.MaxPerHour, undone > 0, exhaustedAfterUndo)
            .Should().Be((options.Resend.MaxPerHour, true, true, undone), "every undone resend kept the guess made on it (the code came back with none left)");
    }

    [Fact]
    public async Task ResendAsync_AfterTheEntryWasEvicted_SendsNothingAndStillCountsTheSlot()
    {
        using var h = Harness();
        var person = await PersonStartsAsync(h, "oldest@example.com", "203.0.113.1");
        await FloodAsync(h, 0, Cap);
        h.Time.Advance(TimeSpan.FromMinutes(1));

        var resend = await h.Engine.ResendAsync(OtpPurpose.Signup, person.Address, "203.0.113.1");
        var restart = await h.Engine.StartAsync(Start(person.Address, "203.0.113.1"));

        (resend.Outcome, h.Email.Messages.Count(m => m.To == person.Address), restart.Outcome).Should().Be((OtpOutcome.Accepted, 1, OtpOutcome.TooFrequent));
    }
}
