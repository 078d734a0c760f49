using Microsoft.Extensions.Time.Testing;
using OtpVerification.Redis.Stores;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;
using StackExchange.Redis;
using Xunit.Abstractions;
using static OtpVerification.Redis.Tests.Infrastructure.Registrations;

namespace OtpVerification.Redis.Tests.Attack;

/// <summary>
/// Attacks on the send gate (the Lua <c>take</c>), the Create script's handling of the replaced
/// registration and the EVALSHA/NOSCRIPT path: the Redis store must never allow more sends or
/// guesses than the limits, and must answer exactly as the in-memory store.
/// A server of its own: the tests flush scripts and change its memory limit.
/// </summary>
public sealed class SendLimitAttackTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private static readonly DateTimeOffset Now = StoreClock.Start;

    // ---- Same tick, skew, parallelism -------------------------------------------------------

    [Fact]
    public async Task SendLimitAttack_400ParallelSameTickReserves_AllowExactlyMaxAndKeepEveryMember()
    {
        var (first, second, prefix) = await TwoInstancesAsync();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 250, TimeSpan.FromHours(1));

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).ReserveSendAsync(key, policy, Now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(250);
        results.Where(r => r.Status != SendGateStatus.Allowed).Should().AllSatisfy(r => r.Should().Be(new SendGateResult(SendGateStatus.RateLimited, policy.Window)));
        ((long)await redis.AdminAsync("ZCARD", (string)RedisKeys.LimitsFor(prefix, key, Hasher)!)).Should().Be(250, "every allowed send is its own member");
    }

    [Fact]
    public async Task SendLimitAttack_300ParallelReservesFromSkewedClocks_AllowExactlyMax()
    {
        var (first, second, _) = await TwoInstancesAsync();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 100, TimeSpan.FromHours(1));
        var random = new Random(7);

        // App servers whose clocks disagree by up to 3 minutes either way, many on the very same tick.
        var nows = Enumerable.Range(0, 300).Select(_ => Now + TimeSpan.FromTicks(random.Next(-3, 3) * TimeSpan.TicksPerMinute + random.Next(3))).ToArray();
        var results = await Task.WhenAll(nows.Select((now, i) => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).ReserveSendAsync(key, policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(100);
    }

    [Fact]
    public async Task SendLimitAttack_CooldownFromTheFuture_IsHonouredAsInMemory()
    {
        // A send stamped by a server whose clock runs ahead: a server behind it must still wait.
        var clock = StoreClock.Create();
        var reference = new InMemoryPendingRegistrationStore(1000, clock);
        var store = redis.CreateStore(clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromMinutes(1), 1, TimeSpan.FromMinutes(2));
        foreach (var now in new[] { Now + TimeSpan.FromMinutes(3), Now, Now + TimeSpan.FromMinutes(3) + TimeSpan.FromTicks(1), Now + TimeSpan.FromMinutes(4), Now + TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1), Now + TimeSpan.FromMinutes(5) })
        {
            var expected = await reference.ReserveSendAsync(key, policy, now);
            (await store.ReserveSendAsync(key, policy, now)).Should().Be(expected, $"at {now.UtcTicks - Now.UtcTicks} ticks");
        }
    }

    [Fact]
    public async Task SendLimitAttack_200ParallelCreatesFromSkewedClocksWithinCooldown_AllowExactlyOne()
    {
        var (first, second, _) = await TwoInstancesAsync();
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromMinutes(5), 5, TimeSpan.FromHours(1));
        var random = new Random(11);
        var nows = Enumerable.Range(0, 200).Select(_ => Now + TimeSpan.FromTicks(random.NextInt64(-2 * TimeSpan.TicksPerMinute, 2 * TimeSpan.TicksPerMinute))).ToArray();

        var results = await Task.WhenAll(nows.Select((now, i) => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).CreateOrReplaceAsync(Create(key, now, code: $"{i:000000}"), policy, now))));

        results.Count(r => r.Status == SendGateStatus.Allowed).Should().Be(1);
        results.Where(r => r.Status != SendGateStatus.Allowed).Should().OnlyContain(r => r.Status == SendGateStatus.TooFrequent);
    }

    [Fact]
    public async Task SendLimitAttack_SendAfterAFutureStampedSend_KeepsTheRecordUntilTheFutureSendIsForgotten()
    {
        var store = redis.CreateStore(out var prefix, StoreClock.Create());
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 5, TimeSpan.FromHours(1));
        (await store.ReserveSendAsync(key, policy, Now + TimeSpan.FromMinutes(10))).Status.Should().Be(SendGateStatus.Allowed);
        (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.Allowed);

        var pttl = (long)await redis.AdminAsync("PTTL", (string)RedisKeys.LimitsFor(prefix, key, Hasher)!);
        pttl.Should().BeInRange((long)TimeSpan.FromMinutes(69).TotalMilliseconds, (long)TimeSpan.FromMinutes(70).TotalMilliseconds, "the record lives until the latest send (10 minutes ahead) leaves the window");
    }

    // ---- Exact boundaries and odd policies, against the in-memory store ----------------------

    [Theory]
    [InlineData(60, 1, 120)]      // max 1
    [InlineData(180, 1, 120)]     // cooldown longer than the window
    [InlineData(180, 3, 120)]
    [InlineData(0, 3, 120)]       // no cooldown
    [InlineData(120, 2, 120)]     // cooldown equal to the window
    [InlineData(30, 5, 3600)]
    public async Task SendLimitAttack_BoundaryStampsAndSkew_AnswerExactlyAsInMemory(int cooldownSeconds, int max, int windowSeconds)
    {
        var policy = new SendPolicy(TimeSpan.FromSeconds(cooldownSeconds), max, TimeSpan.FromSeconds(windowSeconds));
        foreach (var seed in Enumerable.Range(1, 6))
        {
            var clock = StoreClock.Create();
            var reference = new InMemoryPendingRegistrationStore(1000, clock);
            var store = redis.CreateStore(clock);
            var random = new Random(seed * 31 + cooldownSeconds + max + windowSeconds);
            var key = NewKey();
            var stamps = new List<DateTimeOffset>();
            var baseNow = Now;
            var cursor = Now;
            var code = 0;
            for (var step = 0; step < 250; step++)
            {
                // Mostly instants on a boundary of an earlier send: exactly the cooldown, the window
                // or the longer of the two after it, one tick either side; sometimes the same tick
                // again; sometimes a server up to a window behind or ahead.
                DateTimeOffset now;
                var pick = random.Next(10);
                if (pick < 5 && stamps.Count > 0)
                {
                    var stamp = stamps[random.Next(stamps.Count)];
                    var span = random.Next(3) switch
                    {
                        0 => policy.Cooldown,
                        1 => policy.Window,
                        _ => policy.Window > policy.Cooldown ? policy.Window : policy.Cooldown,
                    };
                    now = stamp + span + TimeSpan.FromTicks(random.Next(-1, 2));
                }
                else if (pick < 7)
                {
                    now = cursor;
                }
                else if (pick < 8)
                {
                    now = cursor + TimeSpan.FromTicks(random.NextInt64(-policy.Window.Ticks + 1, policy.Window.Ticks));
                }
                else
                {
                    cursor += TimeSpan.FromTicks(random.NextInt64(1, policy.Window.Ticks / 3));
                    now = cursor;
                }

                // Never so far behind the latest instant the stores have seen that a pruned send
                // matters (each prunes what the policy forgets, at different moments).
                if (now > baseNow)
                {
                    baseNow = now;
                }

                // The in-memory store prunes on every call, Redis only on an allowed send (both
                // before this change): a server behind the latest instant must not reach back to a
                // send the in-memory store already forgot, or the stores differ for that older reason.
                var keep = policy.Window > policy.Cooldown ? policy.Window : policy.Cooldown;
                if (stamps.Any(s => s > now - keep && s <= baseNow - keep))
                {
                    now = baseNow;
                }

                string expected, actual;
                var op = random.Next(10);
                if (op < 6)
                {
                    expected = Describe(await reference.ReserveSendAsync(key, policy, now));
                    actual = Describe(await store.ReserveSendAsync(key, policy, now));
                }
                else if (op < 9)
                {
                    var registration = Create(key, now, code: $"{++code:000000}", lifetime: TimeSpan.FromDays(1), codeLifetime: TimeSpan.FromDays(1));
                    expected = Describe(await reference.CreateOrReplaceAsync(registration, policy, now));
                    actual = Describe(await store.CreateOrReplaceAsync(registration, policy, now));
                }
                else
                {
                    // Undo the last create (a failed delivery): gives its slot back (ZPOPMAX).
                    var hash = Hash(key, $"{code:000000}");
                    await reference.CancelSendAsync(key, hash);
                    await store.CancelSendAsync(key, hash);
                    expected = actual = "cancel";
                }

                if (expected.StartsWith("Allowed", StringComparison.Ordinal))
                {
                    stamps.Add(now);
                }

                actual.Should().Be(expected, $"seed {seed} step {step} at +{now.UtcTicks - Now.UtcTicks} ticks ({policy})");
            }
        }
    }

    // ---- CancelSend (ZPOPMAX) and member names ---------------------------------------------

    [Fact]
    public async Task SendLimitAttack_CancelThenSendOnTheSameTick_NeverOverwritesAMember()
    {
        var store = redis.CreateStore(out var prefix, StoreClock.Create());
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 12, TimeSpan.FromHours(1));
        var limits = (string)RedisKeys.LimitsFor(prefix, key, Hasher)!;
        var allowed = 0;
        for (var i = 0; i < 40; i++)
        {
            // Creates, cancels (pops the highest member: "…:9" sorts above "…:10"), creates again, all on one tick.
            var registration = Create(key, Now, code: $"{i:000000}");
            if ((await store.CreateOrReplaceAsync(registration, policy, Now)).Status == SendGateStatus.Allowed)
            {
                allowed++;
                if (i % 3 == 0)
                {
                    await store.CancelSendAsync(key, registration.CodeHash);
                    allowed--;
                }
            }

            ((long)await redis.AdminAsync("ZCARD", limits)).Should().Be(allowed, $"after step {i} every send still counted is a member");
        }

        allowed.Should().Be(12);
    }

    // ---- Create: the replaced registration -------------------------------------------------

    [Fact]
    public async Task SendLimitAttack_ThreeRestartsThenCancel_RestoresOnlyTheLastReplaced()
    {
        var clock = StoreClock.Create();
        var reference = new InMemoryPendingRegistrationStore(1000, clock);
        var store = redis.CreateStore(clock);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.FromMinutes(1), 10, TimeSpan.FromHours(1));
        PendingRegistration? last = null;
        for (var i = 0; i < 3; i++)
        {
            var now = Now + TimeSpan.FromMinutes(2 * i);
            last = Create(key, now, code: $"{i + 1}{i + 1}{i + 1}{i + 1}{i + 1}{i + 1}", flowId: $"flow-{i}");
            (await store.CreateOrReplaceAsync(last, policy, now)).Should().Be(await reference.CreateOrReplaceAsync(last, policy, now));
        }

        // A guess on the newest code, then the newest send undone: the guess carries over.
        var at = Now + TimeSpan.FromMinutes(4);
        (await store.VerifyAsync(key, Hash(key, "000000"), null, at, "flow-2")).Status.Should().Be((await reference.VerifyAsync(key, Hash(key, "000000"), null, at, "flow-2")).Status);
        await store.CancelSendAsync(key, last!.CodeHash);
        await reference.CancelSendAsync(key, last.CodeHash);

        foreach (var flow in new[] { "flow-0", "flow-1", "flow-2" })
        {
            var expected = await reference.VerifyAsync(key, Hash(key, "999999"), null, at, flow);
            var actual = await store.VerifyAsync(key, Hash(key, "999999"), null, at, flow);
            actual.Status.Should().Be(expected.Status, flow);
            actual.AttemptsLeft.Should().Be(expected.AttemptsLeft, flow);
        }
    }

    // ---- EVALSHA / NOSCRIPT --------------------------------------------------------------------

    [Fact]
    public async Task SendLimitAttack_ScriptFlushBeforeEachCall_CountsEachSendAndGuessOnce()
    {
        var store = redis.CreateStore(out var prefix);
        var key = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 3, TimeSpan.FromHours(1));
        var limits = (string)RedisKeys.LimitsFor(prefix, key, Hasher)!;

        await redis.AdminAsync("SCRIPT", "FLUSH");
        (await store.CreateOrReplaceAsync(Create(key, Now, attempts: 4), policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        ((long)await redis.AdminAsync("ZCARD", limits)).Should().Be(1);
        for (var i = 0; i < 4; i++)
        {
            await redis.AdminAsync("SCRIPT", "FLUSH");
            var result = await store.VerifyAsync(key, Hash(key, "000000"), null, Now);
            result.Should().Match<StoreVerifyResult>(r => r.Status == StoreVerifyStatus.Invalid && r.AttemptsLeft == 3 - i, $"guess {i} counts once");
        }

        await redis.AdminAsync("SCRIPT", "FLUSH");
        (await store.VerifyAsync(key, Hash(key, "123456"), null, Now)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);

        for (var i = 0; i < 2; i++)
        {
            await redis.AdminAsync("SCRIPT", "FLUSH");
            (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
        }

        await redis.AdminAsync("SCRIPT", "FLUSH");
        (await store.ReserveSendAsync(key, policy, Now)).Should().Be(new SendGateResult(SendGateStatus.RateLimited, policy.Window));
        ((long)await redis.AdminAsync("ZCARD", limits)).Should().Be(3);
    }

    [Fact]
    public async Task SendLimitAttack_ScriptFlushesDuringParallelSendsAndGuesses_NeverCountTwiceOrExceedTheLimits()
    {
        var (first, second, prefix) = await TwoInstancesAsync();
        var sendKey = NewKey();
        var guessKey = NewKey();
        var policy = new SendPolicy(TimeSpan.Zero, 40, TimeSpan.FromHours(1));
        await first.CreateOrReplaceAsync(Create(guessKey, Now, attempts: 5), policy, Now);

        using var stop = new CancellationTokenSource();
        var flusher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await redis.AdminAsync("SCRIPT", "FLUSH");
                await Task.Delay(2);
            }
        });

        // A NOSCRIPT that reaches the caller (the flush hit the fallback too) is a 503: nothing ran.
        var unavailable = 0;
        async Task<T?> Try<T>(Func<Task<T>> call)
            where T : struct
        {
            try
            {
                return await call();
            }
            catch (OtpStoreUnavailableException)
            {
                Interlocked.Increment(ref unavailable);
                return null;
            }
        }

        var sends = Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await Try(async () => await (i % 2 == 0 ? first : second).ReserveSendAsync(sendKey, policy, Now)))));
        var guesses = Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            await Try(async () => await (i % 2 == 0 ? first : second).VerifyAsync(guessKey, Hash(guessKey, $"{i:000000}x"), null, Now)))));
        var sent = await sends;
        var guessed = await guesses;
        await stop.CancelAsync();
        await flusher;
        output.WriteLine($"{unavailable} of 400 calls answered unavailable (NOSCRIPT twice)");

        var allowed = sent.Count(r => r?.Status == SendGateStatus.Allowed);
        allowed.Should().BeLessThanOrEqualTo(40);
        ((long)await redis.AdminAsync("ZCARD", (string)RedisKeys.LimitsFor(prefix, sendKey, Hasher)!)).Should().Be(allowed, "each send counted exactly once");
        var invalid = guessed.Where(r => r?.Status == StoreVerifyStatus.Invalid).Select(r => r!.Value.AttemptsLeft).ToArray();
        invalid.Should().OnlyHaveUniqueItems().And.OnlyContain(a => a >= 0 && a <= 4);
        invalid.Length.Should().BeLessThanOrEqualTo(5);
        var left = (await first.VerifyAsync(guessKey, Hash(guessKey, "zzzzzz"), null, Now)).AttemptsLeft;
        left.Should().Be(Math.Max(0, 5 - invalid.Length - 1), "each evaluated guess used exactly one attempt");
    }

    [Fact]
    public async Task SendLimitAttack_OutOfMemoryAfterScriptFlush_RefusesSendsAndGuessesButStillCancels()
    {
        var store = redis.CreateStore(out var prefix, StoreClock.Create());
        var key = NewKey();
        var registration = Create(key, Now, attempts: 3);
        await store.CreateOrReplaceAsync(registration, Policy, Now);
        var limits = (string)RedisKeys.LimitsFor(prefix, key, Hasher)!;
        var other = NewKey();

        await redis.AdminAsync("SCRIPT", "FLUSH");
        await redis.AdminAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await redis.AdminAsync("CONFIG", "SET", "maxmemory", "1");
        try
        {
            (await store.ReserveSendAsync(other, Policy, Now)).Status.Should().Be(SendGateStatus.CapacityExceeded);
            var guess = async () => await store.VerifyAsync(key, Hash(key, "000000"), null, Now);
            await guess.Should().ThrowAsync<OtpStoreUnavailableException>();
            await store.CancelSendAsync(key, registration.CodeHash);
        }
        finally
        {
            await redis.AdminAsync("CONFIG", "SET", "maxmemory", "0");
        }

        ((long)await redis.AdminAsync("ZCARD", limits)).Should().Be(0, "the cancel gave the slot back under OOM");
        ((long)await redis.AdminAsync("EXISTS", (string)RedisKeys.LimitsFor(prefix, other, Hasher)!)).Should().Be(0);
    }

    // ---- Cost: a send check must not read the whole window --------------------------------

    /// <summary>
    /// The app-wide SMS budget (<c>OtpSignup:Abuse:MaxSmsPerHour</c>, up to 100,000,000) and the
    /// per-client limit (up to 1,000,000) are send gates on one key with a large allowance. Once a
    /// flood has used the budget, every further SMS start is a refused check on that key. A check
    /// that read every send of the window into Lua (a first version of the trimmed scripts did,
    /// with ZRANGE BYSCORE WITHSCORES) cost 140-280 ms here; Redis is single-threaded, so each such
    /// check blocks every other client. The checks must stay O(log n).
    /// </summary>
    [Fact]
    public async Task SendLimitAttack_RefusedCheckOnAFullLargeBudget_DoesNotReadTheWholeWindow()
    {
        var store = redis.CreateStore(out var prefix);
        const int Budget = 100_000;
        var policy = new SendPolicy(TimeSpan.Zero, Budget, TimeSpan.FromHours(1));
        var small = NewKey();
        var big = NewKey();

        await FillWindowAsync(prefix, big, Budget);

        for (var j = 0; j < 100; j++)
        {
            (await store.ReserveSendAsync(small, new SendPolicy(TimeSpan.Zero, 100, TimeSpan.FromHours(1)), Now + TimeSpan.FromTicks(j))).Status.Should().Be(SendGateStatus.Allowed);
        }

        (await store.ReserveSendAsync(big, policy, Now)).Status.Should().Be(SendGateStatus.RateLimited);
        var smallUsec = await EvalShaMicrosecondsAsync(async () => await store.ReserveSendAsync(small, new SendPolicy(TimeSpan.Zero, 100, TimeSpan.FromHours(1)), Now), 20);
        var bigUsec = await EvalShaMicrosecondsAsync(async () => await store.ReserveSendAsync(big, policy, Now), 5);
        output.WriteLine($"refused check: {smallUsec:F0} µs with 100 sends in the window, {bigUsec:F0} µs with {Budget}");

        // A complexity guard, not a speed target: reading the window costs 140-280 ms here, an
        // O(log n) check tens of microseconds; 20 ms leaves room for a slow, busy machine.
        bigUsec.Should().BeLessThan(20_000, "a refused check on a full budget must not cost Redis time in proportion to the allowance");
    }

    /// <summary>
    /// An allowed send on a large budget must not read the window either: if it did, the k-th send
    /// of the hour would cost O(k) and the hour's sends O(max²); with MaxSmsPerHour = 100,000
    /// (allowed by the options) Redis would spend more than an hour of CPU per hour on that key.
    /// </summary>
    [Fact]
    public async Task SendLimitAttack_AllowedCheckOnALargeBudget_DoesNotReadTheWholeWindow()
    {
        var store = redis.CreateStore(out var prefix);
        const int Budget = 100_000;
        var policy = new SendPolicy(TimeSpan.Zero, Budget + 100, TimeSpan.FromHours(1));
        var smallPolicy = new SendPolicy(TimeSpan.Zero, 200, TimeSpan.FromHours(1));
        var small = NewKey();
        var big = NewKey();
        await FillWindowAsync(prefix, big, Budget);

        for (var j = 0; j < 100; j++)
        {
            await store.ReserveSendAsync(small, smallPolicy, Now + TimeSpan.FromTicks(j));
        }

        var tick = 1000;
        var smallUsec = await EvalShaMicrosecondsAsync(async () => (await store.ReserveSendAsync(small, smallPolicy, Now + TimeSpan.FromTicks(++tick))).Status.Should().Be(SendGateStatus.Allowed), 20);
        var bigUsec = await EvalShaMicrosecondsAsync(async () => (await store.ReserveSendAsync(big, policy, Now + TimeSpan.FromTicks(++tick))).Status.Should().Be(SendGateStatus.Allowed), 5);
        output.WriteLine($"allowed check: {smallUsec:F0} µs with 100 sends in the window, {bigUsec:F0} µs with {Budget}");

        bigUsec.Should().BeLessThan(20_000, "an allowed check must not cost Redis time in proportion to the sends already in the window");
    }

    /// <summary>What <paramref name="count"/> allowed sends over the last hour leave in a key's send record (members "&lt;now&gt;:&lt;n&gt;", one every 36 ms), written directly.</summary>
    private async Task FillWindowAsync(string prefix, PendingKey key, int count)
    {
        var db = redis.Multiplexer.GetDatabase();
        var startTicks = long.Parse(RedisPendingRegistrationStore.Instant(Now - TimeSpan.FromHours(1)), System.Globalization.CultureInfo.InvariantCulture);
        for (var batch = 0; batch < count; batch += 5000)
        {
            var entries = Enumerable.Range(batch, Math.Min(5000, count - batch)).Select(j =>
            {
                var t = startTicks + 1 + (j * 36_000L);
                return new SortedSetEntry($"{t}:{j}", t);
            }).ToArray();
            await db.SortedSetAddAsync(RedisKeys.LimitsFor(prefix, key, Hasher), entries);
        }
    }

    /// <summary>
    /// The median time Redis spent inside one EVALSHA of <paramref name="operation"/> over
    /// <paramref name="times"/> calls (INFO commandstats, read around each call): Redis's own time
    /// for the script, not the round trip, and the median so one preemption does not decide.
    /// </summary>
    private async Task<double> EvalShaMicrosecondsAsync(Func<Task> operation, int times)
    {
        await operation();
        var each = new List<double>();
        for (var i = 0; i < times; i++)
        {
            var (callsBefore, usecBefore) = await EvalShaStatsAsync();
            await operation();
            var (callsAfter, usecAfter) = await EvalShaStatsAsync();
            each.Add((double)(usecAfter - usecBefore) / (callsAfter - callsBefore));
        }

        each.Sort();
        return each[each.Count / 2];
    }

    private async Task<(long Calls, long Usec)> EvalShaStatsAsync()
    {
        var evalsha = (await redis.CommandStatsAsync()).GetValueOrDefault("evalsha");
        return (evalsha.Calls, evalsha.Usec);
    }

    private async Task<(IPendingRegistrationStore First, IPendingRegistrationStore Second, string Prefix)> TwoInstancesAsync()
    {
        var prefix = "a" + Guid.NewGuid().ToString("N")[..8] + ":";
        return (RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), prefix), RedisTargetExtensions.CreateStore(await redis.ConnectAsync(), prefix), prefix);
    }

    private static string Describe(SendGateResult result) => $"{result.Status} retry={result.RetryAfter.Ticks}";
}

/// <summary>EVALSHA by a precomputed hash on a cluster: every master answers NOSCRIPT after a flush; sends and guesses still count once, on keys spread over the masters.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SendLimitAttackClusterTests(RedisClusterFixture cluster)
{
    private static readonly DateTimeOffset Now = StoreClock.Start;

    [Fact]
    public async Task SendLimitAttack_ClusterScriptFlushOnEveryNode_SendsAndGuessesCountOnce()
    {
        var admin = await cluster.ConnectAsync("allowAdmin=true");
        var store = cluster.CreateStore(StoreClock.Create());
        var policy = new SendPolicy(TimeSpan.Zero, 2, TimeSpan.FromHours(1));
        var keys = Enumerable.Range(0, 12).Select(_ => NewKey()).ToArray();
        foreach (var key in keys)
        {
            await store.CreateOrReplaceAsync(Create(key, Now, attempts: 2), policy, Now);
        }

        async Task FlushAllAsync()
        {
            foreach (var server in admin.GetServers())
            {
                await server.ScriptFlushAsync();
            }
        }

        foreach (var key in keys)
        {
            await FlushAllAsync();
            (await store.VerifyAsync(key, Hash(key, "000000"), null, Now)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 1));
            await FlushAllAsync();
            (await store.ReserveSendAsync(key, policy, Now)).Status.Should().Be(SendGateStatus.Allowed);
            await FlushAllAsync();
            (await store.ReserveSendAsync(key, policy, Now)).Should().Be(new SendGateResult(SendGateStatus.RateLimited, policy.Window));
            await FlushAllAsync();
            (await store.VerifyAsync(key, Hash(key, "000001"), null, Now)).Should().Be(new StoreVerifyResult(StoreVerifyStatus.Invalid, 0));
        }
    }
}
