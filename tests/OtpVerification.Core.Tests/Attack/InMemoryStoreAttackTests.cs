using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Attack;

/// <summary>
/// Attacks on the in-memory pending-registration store: the guess budget (MaxAttempts per code,
/// MaxAttempts x sends per window), races, the send limits (compared against a model), and
/// interference between keys or between an entry and the one that follows it at the same key.
/// </summary>
public sealed class InMemoryStoreAttackTests
{
    private const int MaxAttempts = 3;
    private const string Flow = "flow-a";
    private static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan EntryLifetime = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private static readonly SendPolicy Policy = new(TimeSpan.FromMinutes(1), 3, Window);
    private static readonly SendPolicy NoCooldown = new(TimeSpan.Zero, 3, Window);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private DateTimeOffset Now => _time.GetUtcNow();

    private static byte[] H(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));

    private static readonly byte[] Wrong = H("wrong");

    private static PendingKey NewKey() => new(OtpPurpose.Signup, $"{Guid.NewGuid():N}@example.com");

    private static PendingRegistration Reg(PendingKey key, byte[] hash, DateTimeOffset now, string flow = Flow, int attempts = MaxAttempts, byte[]? protectedCode = null, TimeSpan? codeLifetime = null, TimeSpan? entryLifetime = null) => new()
    {
        Key = key,
        FlowId = flow,
        CodeHash = hash,
        ProtectedCode = protectedCode,
        CodeExpiresAt = now + (codeLifetime ?? CodeLifetime),
        ExpiresAt = now + (entryLifetime ?? EntryLifetime),
        AttemptsLeft = attempts,
        Destinations = [new OtpDestination(OtpChannel.Email, key.Address), new OtpDestination(OtpChannel.Sms, "+14155550123")],
        DeliveredTo = new OtpDestination(OtpChannel.Email, key.Address),
        Payload = [1, 2, 3],
    };

    private InMemoryPendingRegistrationStore NewStore(int capacity = 10_000) => new(capacity, _time);

    private static ResendCode NewCode(byte[] hash, DateTimeOffset now, bool reuse = false) => new()
    {
        CodeHash = hash,
        ProtectedCode = [9, 9, 9],
        CodeExpiresAt = now + CodeLifetime,
        MaxAttempts = MaxAttempts,
        ReuseWhileRemaining = reuse ? CodeLifetime / 2 : null,
    };

    private ValueTask<StoreVerifyResult> Guess(IPendingRegistrationStore store, PendingKey key, byte[]? hash = null, string flow = Flow)
        => store.VerifyAndConsumeAsync(key, flow, [hash ?? Wrong], null, Now);

    // ---------------------------------------------------------------- races

    [Fact]
    public async Task ParallelWrongGuesses_OnOneCode_EvaluateExactlyMaxAttempts()
    {
        var store = NewStore();
        var key = NewKey();
        (await store.CreateOrReplaceAsync(Reg(key, H("right"), Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => Task.Run(async () => await Guess(store, key))));

        results.Count(r => r.Status == StoreVerifyStatus.Invalid).Should().Be(MaxAttempts);
        results.Where(r => r.Status == StoreVerifyStatus.Invalid).Select(r => r.AttemptsLeft).Should().BeEquivalentTo([2, 1, 0]);
        results.Count(r => r.Status == StoreVerifyStatus.MaxAttempts).Should().Be(400 - MaxAttempts);
        (await Guess(store, key, H("right"))).Status.Should().Be(StoreVerifyStatus.MaxAttempts, "a locked code stays locked, even for the right code");
    }

    [Fact]
    public async Task ParallelRightVerifies_ExactlyOneSucceeds()
    {
        var store = NewStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Reg(key, H("right"), Now), Policy, Now);

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => Task.Run(async () => await Guess(store, key, H("right")))));

        results.Count(r => r.Status == StoreVerifyStatus.Success).Should().Be(1);
        results.Where(r => r.Status != StoreVerifyStatus.Success).Should().OnlyContain(r => r.Status == StoreVerifyStatus.NotFound);
    }

    [Fact]
    public async Task ParallelRightAndWrong_AtMostMaxAttemptsEvaluations_AndAtMostOneSuccess()
    {
        var store = NewStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Reg(key, H("right"), Now), Policy, Now);

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(async () => await Guess(store, key, i % 2 == 0 ? H("right") : Wrong))));

        results.Count(r => r.Status == StoreVerifyStatus.Success).Should().BeLessThanOrEqualTo(1);
        results.Count(r => r.Status is StoreVerifyStatus.Invalid or StoreVerifyStatus.Success).Should().BeLessThanOrEqualTo(MaxAttempts);
    }

    [Fact]
    public async Task ParallelSendsOnOneTick_NoCooldown_ExactlyMaxPerWindowAllowed()
    {
        var store = NewStore();
        var key = NewKey();
        var now = Now;
        var policy = new SendPolicy(TimeSpan.Zero, 7, Window);

        var gates = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(async () => i % 2 == 0
            ? await store.ReserveSendAsync(key, policy, now)
            : await store.CreateOrReplaceAsync(Reg(key, H("c" + i), now), policy, now))));

        gates.Count(g => g.Status == SendGateStatus.Allowed).Should().Be(7);
        gates.Where(g => g.Status != SendGateStatus.Allowed).Should().OnlyContain(g => g.Status == SendGateStatus.RateLimited && g.RetryAfter == Window);
    }

    [Fact]
    public async Task ParallelSendsOnOneTick_WithCooldown_ExactlyOneAllowed()
    {
        var store = NewStore();
        var key = NewKey();
        var now = Now;

        var gates = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () => await store.CreateOrReplaceAsync(Reg(key, H("c" + i), now), Policy, now))));

        gates.Count(g => g.Status == SendGateStatus.Allowed).Should().Be(1);
        gates.Where(g => g.Status != SendGateStatus.Allowed).Should().OnlyContain(g => g.Status == SendGateStatus.TooFrequent && g.RetryAfter == Policy.Cooldown);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ParallelGuesses_RacingResendsCancelsAndRestarts_StayWithinTheWindowBudget(int seed)
    {
        // No time passes: every send is inside one window, the code lives longer than the test.
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 4, Window);
        var now = Now;
        (await store.CreateOrReplaceAsync(Reg(key, H("start"), now, protectedCode: [1]), policy, now)).Status.Should().Be(SendGateStatus.Allowed);
        var invalid = 0;
        var rng = new Random(seed);
        var ops = Enumerable.Range(0, 600).Select(i => rng.Next(10)).ToArray();
        var hashes = new System.Collections.Concurrent.ConcurrentBag<byte[]>();
        hashes.Add(H("start"));

        await Parallel.ForEachAsync(Enumerable.Range(0, ops.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            switch (ops[i])
            {
                case 0:
                {
                    var h = H("n" + i);
                    hashes.Add(h);
                    var g = await store.ResendAsync(key, NewCode(h, now, reuse: i % 3 == 0), policy, now);
                    if (g.Status == SendGateStatus.Allowed && i % 2 == 0)
                    {
                        // The delivery fails: undo it.
                        await store.CancelSendAsync(key, g.Registration!.CodeHash);
                    }

                    break;
                }

                case 1:
                {
                    var h = H("r" + i);
                    hashes.Add(h);
                    var g = await store.CreateOrReplaceAsync(Reg(key, h, now, protectedCode: [1]), policy, now);
                    if (g.Status == SendGateStatus.Allowed && i % 2 == 0)
                    {
                        await store.CancelSendAsync(key, h);
                    }

                    break;
                }

                case 2:
                {
                    foreach (var h in hashes.Take(3))
                    {
                        await store.CancelSendAsync(key, h);
                    }

                    break;
                }

                default:
                {
                    var r = await Guess(store, key);
                    if (r.Status == StoreVerifyStatus.Invalid)
                    {
                        Interlocked.Increment(ref invalid);
                    }

                    break;
                }
            }
        });

        invalid.Should().BeLessThanOrEqualTo(MaxAttempts * policy.MaxPerWindow, "every send, undone or not, allows at most MaxAttempts guesses, and at most MaxPerWindow sends are counted");
    }

    // ---------------------------------------------------------------- guess budget, sequential

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    public async Task RandomSequences_WithinOneWindow_NeverMoreThanMaxAttemptsTimesMaxPerWindowWrongGuesses(int seed)
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 3, Window);
        var rng = new Random(seed);
        var right = H("start");
        var current = right;
        var invalid = 0;
        var log = new List<string>();
        (await store.CreateOrReplaceAsync(Reg(key, right, Now, protectedCode: [1], codeLifetime: TimeSpan.FromMinutes(50), entryLifetime: TimeSpan.FromMinutes(55)), policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        PendingRegistration? consumed = null;
        var last = new List<byte[]> { right };
        for (var i = 0; i < 400; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var op = rng.Next(12);
            switch (op)
            {
                case 0:
                case 1:
                {
                    var h = H("n" + i);
                    var g = await store.ResendAsync(key, new ResendCode { CodeHash = h, ProtectedCode = [2], CodeExpiresAt = Now + TimeSpan.FromMinutes(40), MaxAttempts = MaxAttempts, ReuseWhileRemaining = op == 0 ? TimeSpan.FromMinutes(1) : null }, policy, Now);
                    log.Add($"resend{op} {g.Status} {g.Registration?.AttemptsLeft}");
                    if (g.Registration is { } r)
                    {
                        last.Add(r.CodeHash);
                    }

                    break;
                }

                case 2:
                {
                    var h = H("s" + i);
                    var g = await store.CreateOrReplaceAsync(Reg(key, h, Now, protectedCode: [3], codeLifetime: TimeSpan.FromMinutes(40), entryLifetime: TimeSpan.FromMinutes(45)), policy, Now);
                    log.Add($"restart {g.Status}");
                    if (g.Status == SendGateStatus.Allowed)
                    {
                        last.Add(h);
                    }

                    break;
                }

                case 3:
                {
                    var h = last[rng.Next(last.Count)];
                    await store.CancelSendAsync(key, h);
                    log.Add("cancel");
                    break;
                }

                case 4:
                {
                    var h = H("f" + i);
                    var from = last[rng.Next(last.Count)];
                    var moved = await store.RedirectAsync(key, from, h, [4], new OtpDestination(OtpChannel.Sms, "+14155550123"));
                    log.Add($"redirect {moved}");
                    if (moved)
                    {
                        last.Add(h);
                    }

                    break;
                }

                case 5:
                {
                    if (consumed is not null)
                    {
                        var back = await store.PutBackAsync(consumed, Now);
                        log.Add($"putback {back} {consumed.AttemptsLeft}");
                        consumed = null;
                    }

                    break;
                }

                default:
                {
                    var r = await Guess(store, key);
                    log.Add($"guess {r.Status} {r.AttemptsLeft}");
                    if (r.Status == StoreVerifyStatus.Invalid)
                    {
                        invalid++;
                    }

                    break;
                }
            }
        }

        invalid.Should().BeLessThanOrEqualTo(MaxAttempts * policy.MaxPerWindow, string.Join("\n", log));
    }

    [Fact]
    public async Task StaleCount_SameCodeResendAfterGuesses_HandsOutTheLiveCount_AndUndoKeepsIt()
    {
        var store = NewStore();
        var key = NewKey();
        var right = H("right");
        await store.CreateOrReplaceAsync(Reg(key, right, Now, protectedCode: [1]), NoCooldown, Now);
        await Guess(store, key);
        await Guess(store, key);

        var resend = await store.ResendAsync(key, NewCode(H("new"), Now, reuse: true), NoCooldown, Now);
        resend.Registration!.CodeHash.Should().Equal(right);
        resend.Registration.AttemptsLeft.Should().Be(1);

        await store.CancelSendAsync(key, right);
        var r = await Guess(store, key);
        r.Status.Should().Be(StoreVerifyStatus.Invalid);
        r.AttemptsLeft.Should().Be(0);
        (await Guess(store, key)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task StaleCount_VerifySuccessThenPutBack_DoesNotRefillWrongGuesses()
    {
        var store = NewStore();
        var key = NewKey();
        var right = H("right");
        await store.CreateOrReplaceAsync(Reg(key, right, Now), NoCooldown, Now);
        await Guess(store, key);
        await Guess(store, key);

        var ok = await Guess(store, key, right);
        ok.Status.Should().Be(StoreVerifyStatus.Success);
        ok.Registration!.AttemptsLeft.Should().BeLessThanOrEqualTo(1, "two of three guesses were used");
        (await store.PutBackAsync(ok.Registration, Now)).Should().BeTrue();

        var wrong = 0;
        while ((await Guess(store, key)).Status == StoreVerifyStatus.Invalid)
        {
            wrong++;
        }

        (wrong + 2).Should().BeLessThanOrEqualTo(MaxAttempts);
    }

    [Fact]
    public async Task StaleCount_RedirectAfterGuesses_KeepsTheLiveCount()
    {
        var store = NewStore();
        var key = NewKey();
        var right = H("right");
        await store.CreateOrReplaceAsync(Reg(key, right, Now), NoCooldown, Now);
        await Guess(store, key);
        await Guess(store, key);

        (await store.RedirectAsync(key, right, H("fallback"), [1], new OtpDestination(OtpChannel.Sms, "+14155550123"))).Should().BeTrue();

        (await Guess(store, key)).AttemptsLeft.Should().Be(0);
        (await Guess(store, key)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
        (await Guess(store, key, H("fallback"))).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task StaleCount_NewCodeResendUndoneAfterGuesses_PutsBackThePreviousCodeLessThoseGuesses_AndKeepsTheSlot()
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 2, Window);
        var right = H("right");
        await store.CreateOrReplaceAsync(Reg(key, right, Now), policy, Now);
        await Guess(store, key);

        var g = await store.ResendAsync(key, NewCode(H("new"), Now), policy, Now);
        g.Registration!.AttemptsLeft.Should().Be(MaxAttempts);
        await Guess(store, key);
        await store.CancelSendAsync(key, H("new"));

        // Previous code: 3 - 1 (its own) - 1 (made on the undone code) = 1.
        var r = await Guess(store, key);
        (r.Status, r.AttemptsLeft).Should().Be((StoreVerifyStatus.Invalid, 0));
        (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.RateLimited, "a guess was made on the undone send, so its slot stays taken");
    }

    [Fact]
    public async Task Undo_WithoutGuesses_GivesTheSlotBack_Once()
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 2, Window);
        await store.CreateOrReplaceAsync(Reg(key, H("a"), Now), policy, Now);
        await store.ResendAsync(key, NewCode(H("b"), Now), policy, Now);
        await store.CancelSendAsync(key, H("b"));
        await store.CancelSendAsync(key, H("b"));
        await store.CancelSendAsync(key, H("a")); // the original start's undo (it was "delivered": this only removes it and its slot)

        // Two sends were taken; at most two were given back: never more.
        var allowed = 0;
        for (var i = 0; i < 5; i++)
        {
            if ((await store.ReserveSendAsync(key, policy, Now)).Status == SendGateStatus.Allowed)
            {
                allowed++;
            }
        }

        allowed.Should().BeLessThanOrEqualTo(2);
    }

    [Fact]
    public async Task UndoOfARestart_AfterGuessesOnTheNewFlow_PutsBackTheOldEntryLessThem()
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 5, Window);
        await store.CreateOrReplaceAsync(Reg(key, H("a"), Now, flow: "f1"), policy, Now);
        await Guess(store, key, flow: "f1");

        await store.CreateOrReplaceAsync(Reg(key, H("b"), Now, flow: "f2"), policy, Now);
        await Guess(store, key, flow: "f2");
        await store.CancelSendAsync(key, H("b"));

        var r = await Guess(store, key, flow: "f1");
        (r.Status, r.AttemptsLeft).Should().Be((StoreVerifyStatus.Invalid, 0));
    }

    // ---------------------------------------------------------------- restart after expiry / delete, keys

    [Fact]
    public async Task RestartAfterDelete_FreshAttempts_ButTheSendHistoryStays()
    {
        var store = NewStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Reg(key, H("a"), Now), Policy, Now);
        for (var i = 0; i < MaxAttempts; i++)
        {
            await Guess(store, key);
        }

        (await store.DeleteAsync(key)).Should().BeTrue();
        var refused = await store.CreateOrReplaceAsync(Reg(key, H("b"), Now), Policy, Now);
        (refused.Status, refused.RetryAfter).Should().Be((SendGateStatus.TooFrequent, Policy.Cooldown));

        _time.Advance(Policy.Cooldown);
        (await store.CreateOrReplaceAsync(Reg(key, H("b"), Now), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        (await Guess(store, key)).AttemptsLeft.Should().Be(MaxAttempts - 1);
    }

    [Fact]
    public async Task RestartAfterEntryExpiry_FreshAttempts_SendHistoryStays()
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromMinutes(1), 2, Window);
        await store.CreateOrReplaceAsync(Reg(key, H("a"), Now), policy, Now);
        _time.Advance(TimeSpan.FromMinutes(1));
        await store.CreateOrReplaceAsync(Reg(key, H("b"), Now), policy, Now);
        await Guess(store, key);
        await Guess(store, key);
        _time.Advance(EntryLifetime);

        (await Guess(store, key)).Status.Should().Be(StoreVerifyStatus.NotFound);
        var refused = await store.CreateOrReplaceAsync(Reg(key, H("c"), Now), policy, Now);
        refused.Status.Should().Be(SendGateStatus.RateLimited);
        refused.RetryAfter.Should().Be(Window - EntryLifetime - TimeSpan.FromMinutes(1));
        _time.Advance(refused.RetryAfter);
        (await store.CreateOrReplaceAsync(Reg(key, H("c"), Now), policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        (await Guess(store, key)).AttemptsLeft.Should().Be(MaxAttempts - 1);
    }

    [Fact]
    public async Task CodeExpired_ThenSameCodeResend_IssuesANewCodeNotTheExpiredOne()
    {
        var store = NewStore();
        var key = NewKey();
        await store.CreateOrReplaceAsync(Reg(key, H("a"), Now, protectedCode: [1]), NoCooldown, Now);
        _time.Advance(CodeLifetime);
        var g = await store.ResendAsync(key, NewCode(H("b"), Now, reuse: true), NoCooldown, Now);
        g.Registration!.CodeHash.Should().Equal(H("b"));
        (await Guess(store, key, H("a"))).Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task TwoKeys_DoNotShareGuessesOrSends()
    {
        var store = NewStore();
        var a = NewKey();
        var b = NewKey();
        await store.CreateOrReplaceAsync(Reg(a, H("a"), Now), Policy, Now);
        await store.CreateOrReplaceAsync(Reg(b, H("b"), Now), Policy, Now);
        for (var i = 0; i < 10; i++)
        {
            await Guess(store, a);
        }

        (await Guess(store, b)).AttemptsLeft.Should().Be(MaxAttempts - 1);
        (await Guess(store, b, H("a"))).Status.Should().Be(StoreVerifyStatus.Invalid);
        (await Guess(store, a, H("a"))).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
        (await store.ReserveSendAsync(new PendingKey(OtpPurpose.PasswordReset, a.Address), Policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
    }

    [Fact]
    public async Task Eviction_KeepsTheSendHistory_AndAnEvictedCodeCannotBeGuessed()
    {
        var store = NewStore(capacity: 2);
        var victim = NewKey();
        await store.CreateOrReplaceAsync(Reg(victim, H("v"), Now), Policy, Now);
        await Guess(store, victim);
        _time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            await store.CreateOrReplaceAsync(Reg(NewKey(), H("x" + i), Now), Policy, Now);
        }

        store.PendingCount.Should().BeLessThanOrEqualTo(2);
        (await Guess(store, victim)).Status.Should().Be(StoreVerifyStatus.NotFound);
        (await store.CreateOrReplaceAsync(Reg(victim, H("v2"), Now), Policy, Now)).Status.Should().Be(SendGateStatus.TooFrequent);
        (await store.PutBackAsync(Reg(victim, H("v"), Now, attempts: 1), Now)).Should().BeTrue();
    }

    [Fact]
    public async Task ParallelChurnOnManyKeys_WithEviction_CountersDoNotDrift()
    {
        var store = new InMemoryPendingRegistrationStore(20, 400, _time);
        var keys = Enumerable.Range(0, 120).Select(_ => NewKey()).ToArray();
        var policy = new SendPolicy(TimeSpan.Zero, 1000, TimeSpan.FromMinutes(5));
        for (var round = 0; round < 10; round++)
        {
            var now = Now;
            await Parallel.ForEachAsync(Enumerable.Range(0, 600), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                var key = keys[(i * 7 + round) % keys.Length];
                switch (i % 5)
                {
                    case 0: await store.CreateOrReplaceAsync(Reg(key, H("c" + i), now, entryLifetime: TimeSpan.FromMinutes(3), codeLifetime: TimeSpan.FromMinutes(2)), policy, now); break;
                    case 1: await store.VerifyAndConsumeAsync(key, Flow, [i % 2 == 0 ? Wrong : H("c" + (i - 1))], null, now); break;
                    case 2: await store.CancelSendAsync(key, H("c" + (i - 2))); break;
                    case 3: await store.ResendAsync(key, NewCode(H("r" + i), now, reuse: true), policy, now); break;
                    default: await store.DeleteAsync(key); break;
                }
            });
            store.PendingCount.Should().BeLessThanOrEqualTo(20);
            _time.Advance(TimeSpan.FromSeconds(40));
        }

        _time.Advance(TimeSpan.FromHours(2));
        for (var i = 0; i < 400; i++)
        {
            (await store.CreateOrReplaceAsync(Reg(NewKey(), H("n" + i), Now), policy, Now)).Status.Should().Be(SendGateStatus.Allowed, "everything else expired: a drifting counter would refuse new keys for good");
        }

        store.PendingCount.Should().Be(20);
        store.Count.Should().BeLessThanOrEqualTo(400);
    }

    // ---------------------------------------------------------------- send limits vs a model

    [Theory]
    [InlineData(1, 0, 3, 60)]
    [InlineData(2, 60, 3, 60)]
    [InlineData(3, 90, 1, 60)]
    [InlineData(4, 30, 5, 10)]   // cooldown longer than the window
    [InlineData(5, 0, 1, 5)]
    [InlineData(6, 10, 40, 60)]
    [InlineData(7, 1, 100, 30)]
    [InlineData(8, 0, 70, 20)]
    public async Task SendLimits_MatchAModelOfTimestamps_OverRandomSequences(int seed, int cooldownSeconds, int max, int windowMinutes)
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromSeconds(cooldownSeconds), max, TimeSpan.FromMinutes(windowMinutes));
        var model = new List<long>();
        var rng = new Random(seed);
        var baseTime = Now;
        var clock = 0L;
        var hashes = 0;
        for (var step = 0; step < 3000; step++)
        {
            // Mostly forward, sometimes a send stamped a little before the last one (out of order).
            clock += rng.Next(4) switch
            {
                0 => 0,
                1 => rng.Next(1, 120) * TimeSpan.TicksPerSecond,
                2 => rng.Next(1, 20) * TimeSpan.TicksPerMinute / 4,
                _ => -rng.Next(0, 30) * TimeSpan.TicksPerSecond,
            };
            var now = baseTime + TimeSpan.FromTicks(Math.Max(0, clock));
            if (now > Now)
            {
                _time.SetUtcNow(now);
            }

            var expected = ModelTake(model, policy, now.UtcTicks, out var retry);
            SendGateResult got;
            var undo = rng.Next(5) == 0;
            if (undo)
            {
                var h = H("u" + hashes++);
                got = await store.CreateOrReplaceAsync(Reg(key, h, now), policy, now);
                if (got.Status == SendGateStatus.Allowed)
                {
                    await store.CancelSendAsync(key, h);
                    ModelReleaseLatest(model);
                }
            }
            else
            {
                got = await store.ReserveSendAsync(key, policy, now);
            }

            got.Status.Should().Be(expected, $"step {step}, t={now - baseTime}");
            got.RetryAfter.Should().Be(retry, $"step {step}, t={now - baseTime}");
        }
    }

    [Fact]
    public async Task ManySendsOnOneKey_RetryAfterIsExact()
    {
        var store = NewStore();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 5000, Window);
        var start = Now;
        for (var i = 0; i < 5000; i++)
        {
            (await store.ReserveSendAsync(key, policy, start + TimeSpan.FromMilliseconds(i * 7))).Status.Should().Be(SendGateStatus.Allowed);
        }

        var at = start + TimeSpan.FromMinutes(30);
        var refused = await store.ReserveSendAsync(key, policy, at);
        (refused.Status, refused.RetryAfter).Should().Be((SendGateStatus.RateLimited, TimeSpan.FromMinutes(30)));
        (await store.ReserveSendAsync(key, policy, start + Window)).Status.Should().Be(SendGateStatus.Allowed);
        (await store.ReserveSendAsync(key, policy, start + Window)).Status.Should().Be(SendGateStatus.RateLimited);
        var r = await store.ReserveSendAsync(key, policy, start + Window + TimeSpan.FromMilliseconds(1));
        (r.Status, r.RetryAfter).Should().Be((SendGateStatus.RateLimited, TimeSpan.FromMilliseconds(6)));
    }

    private static SendGateStatus ModelTake(List<long> sends, SendPolicy policy, long now, out TimeSpan retry)
    {
        retry = TimeSpan.Zero;
        var memory = Math.Max(policy.Window.Ticks, policy.Cooldown.Ticks);
        sends.RemoveAll(s => now - s >= memory);
        if (policy.Cooldown > TimeSpan.Zero && sends.Count > 0)
        {
            var since = now - sends.Max();
            if (since < policy.Cooldown.Ticks)
            {
                retry = TimeSpan.FromTicks(policy.Cooldown.Ticks - since);
                return SendGateStatus.TooFrequent;
            }
        }

        var inWindow = sends.Where(s => now - s < policy.Window.Ticks).Order().ToList();
        if (inWindow.Count >= policy.MaxPerWindow)
        {
            retry = TimeSpan.FromTicks(inWindow[inWindow.Count - policy.MaxPerWindow] + policy.Window.Ticks - now);
            return SendGateStatus.RateLimited;
        }

        sends.Add(now);
        return SendGateStatus.Allowed;
    }

    private static void ModelReleaseLatest(List<long> sends)
    {
        if (sends.Count > 0)
        {
            sends.Remove(sends.Max());
        }
    }
}

/// <summary>The same attacks through the engine (in-memory store, recording senders, manual clock).</summary>
public sealed class EngineOnInMemoryStoreAttackTests
{
    [Fact]
    public async Task ParallelWrongGuessesThroughTheEngine_EvaluateExactlyMaxAttempts()
    {
        using var h = new OtpVerification.Core.Tests.Engine.EngineHarness();
        await h.StartAsync();
        var code = h.Email.LastCode;
        var wrong = OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code);

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => Task.Run(async () => await h.VerifyAsync(wrong))));

        results.Count(r => r.Outcome == OtpOutcome.InvalidCode).Should().Be(5);
        results.Where(r => r.Outcome == OtpOutcome.InvalidCode).Select(r => r.AttemptsRemaining).Should().BeEquivalentTo(new int?[] { 4, 3, 2, 1, 0 });
        (await h.VerifyAsync(code)).Outcome.Should().Be(OtpOutcome.MaxAttempts);
    }

    [Theory]
    [InlineData(OtpResendStrategy.SameCode)]
    [InlineData(OtpResendStrategy.NewCode)]
    public async Task FailedResendAfterGuesses_RefillsNothing(OtpResendStrategy strategy)
    {
        using var h = new OtpVerification.Core.Tests.Engine.EngineHarness(o => o.Resend.Strategy = strategy);
        await h.StartAsync();
        var code = h.Email.LastCode;
        for (var i = 1; i <= 3; i++)
        {
            (await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, i))).AttemptsRemaining.Should().Be(5 - i);
        }

        h.Email.FailWith();
        h.Time.Advance(TimeSpan.FromSeconds(61));
        (await h.ResendAsync()).Outcome.Should().Be(OtpOutcome.Unavailable);
        h.Email.Succeed();

        (await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, 4))).AttemptsRemaining.Should().Be(1);
        (await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, 5))).AttemptsRemaining.Should().Be(0);
        (await h.VerifyAsync(code)).Outcome.Should().Be(OtpOutcome.MaxAttempts);
    }

    [Fact]
    public async Task SameCodeResendAfterGuesses_KeepsTheAttemptsLeft()
    {
        using var h = new OtpVerification.Core.Tests.Engine.EngineHarness();
        await h.StartAsync();
        var code = h.Email.LastCode;
        await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, 1));
        await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, 2));
        h.Time.Advance(TimeSpan.FromSeconds(61));

        (await h.ResendAsync()).Outcome.Should().Be(OtpOutcome.Accepted);
        h.Email.LastCode.Should().Be(code);
        (await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, 3))).AttemptsRemaining.Should().Be(2);
    }

    [Fact]
    public async Task RestoreAfterSuccess_DoesNotRefillWrongGuesses()
    {
        using var h = new OtpVerification.Core.Tests.Engine.EngineHarness();
        await h.StartAsync();
        var code = h.Email.LastCode;
        for (var i = 1; i <= 4; i++)
        {
            await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, i));
        }

        var ok = await h.VerifyAsync(code);
        ok.Outcome.Should().Be(OtpOutcome.Verified);
        (await h.Engine.RestoreAsync(ok.Registration!)).Should().BeTrue();

        var more = 0;
        for (var i = 5; i <= 9; i++)
        {
            if ((await h.VerifyAsync(OtpVerification.Core.Tests.Engine.EngineHarness.WrongCode(code, i))).Outcome == OtpOutcome.InvalidCode)
            {
                more++;
            }
        }

        (4 + more).Should().BeLessThanOrEqualTo(5, "a put-back entry keeps the guesses already made on its code");
    }

    [Theory]
    [InlineData(OtpResendStrategy.SameCode)]
    [InlineData(OtpResendStrategy.NewCode)]
    public async Task AnHourOfGuessingWithResendsAndRestarts_AtMostMaxAttemptsTimesMaxPerHour(OtpResendStrategy strategy)
    {
        using var h = new OtpVerification.Core.Tests.Engine.EngineHarness(o => o.Resend.Strategy = strategy);
        var wrong = 0;
        var n = 0;
        var start = h.Time.GetUtcNow();
        await h.StartAsync();
        while (h.Time.GetUtcNow() - start < TimeSpan.FromMinutes(59))
        {
            for (var i = 0; i < 7; i++)
            {
                var r = await h.VerifyAsync(((n++ % 900000) + 100000).ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (r.Outcome == OtpOutcome.InvalidCode)
                {
                    wrong++;
                }
            }

            h.Time.Advance(TimeSpan.FromSeconds(61));
            if (n % 3 == 0)
            {
                await h.StartAsync();
            }
            else
            {
                await h.ResendAsync();
            }
        }

        wrong.Should().BeLessThanOrEqualTo(5 * 5);
    }
}
