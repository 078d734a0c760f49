using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Stores;

/// <summary>
/// Send limits against a model (a plain list of send times), over random sequences of sends and
/// undone sends, and the attempts a registration handed out carries: for every store.
/// </summary>
public abstract partial class PendingRegistrationStoreContract
{
    private static readonly TimeSpan[] ModelSteps =
    [
        TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(59), TimeSpan.FromMinutes(1),
        TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61), TimeSpan.FromHours(3),
    ];

    private static readonly TimeSpan[] ModelCooldowns = [TimeSpan.Zero, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromHours(2)];
    private static readonly int[] ModelMaxima = [1, 2, 3, 5, 12];
    private static readonly TimeSpan[] ModelWindows = [TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task SendLimits_RandomSequencesOfSendsAndUndoneSends_MatchARollingWindowModel(int seed)
    {
        var random = new Random(seed);
        for (var sequence = 0; sequence < 8; sequence++)
        {
            var policy = new SendPolicy(
                ModelCooldowns[random.Next(ModelCooldowns.Length)],
                ModelMaxima[random.Next(ModelMaxima.Length)],
                ModelWindows[random.Next(ModelWindows.Length)]);
            var key = NewKey();
            var model = new List<long>();
            for (var step = 0; step < 40; step++)
            {
                // Bursts: most steps are short, so the windows fill and keys hold many sends.
                Time.Advance(ModelSteps[random.Next(random.Next(2) == 0 ? 3 : ModelSteps.Length)]);
                var now = Time.GetUtcNow();
                var expected = ModelGate(model, policy, now);
                var undo = random.Next(4) == 0;
                var context = $"seed {seed}, sequence {sequence}, step {step}, policy {policy}, undo {undo}, sends held {model.Count}";
                SendGateResult gate;
                if (undo)
                {
                    // A send whose delivery failed, undone before any guess: it gives its slot back.
                    var hash = HashOf($"{seed}-{sequence}-{step}");
                    gate = await Store.CreateOrReplaceAsync(NewRegistration(key, hash, now), policy, now);
                    if (gate.Status == SendGateStatus.Allowed)
                    {
                        await Store.CancelSendAsync(key, hash);
                    }
                }
                else
                {
                    gate = await Store.ReserveSendAsync(key, policy, now);
                    if (gate.Status == SendGateStatus.Allowed)
                    {
                        model.Add(now.UtcTicks);
                    }
                }

                gate.Status.Should().Be(expected.Status, context);
                gate.RetryAfter.Should().Be(expected.RetryAfter, context);
            }
        }
    }

    [Fact]
    public async Task VerifyAndConsumeAsync_RightCodeAfterWrongGuesses_HandsOutTheAttemptsItHadLeft()
    {
        var (_, result) = await RightCodeAfterTwoWrongGuessesAsync();

        result.Status.Should().Be(StoreVerifyStatus.Success);
        result.AttemptsLeft.Should().Be(MaxAttempts - 3);
        result.Registration!.AttemptsLeft.Should().Be(MaxAttempts - 2, "the registration is handed out as it stood when the right code came");
    }

    [Fact]
    public async Task PutBackAsync_AfterWrongGuessesAndASuccess_TheGuessesStillCount()
    {
        var (key, success) = await RightCodeAfterTwoWrongGuessesAsync();

        (await Store.PutBackAsync(success.Registration!, Now)).Should().BeTrue();

        var wrong = await VerifyAsync(key, WrongHash);
        wrong.Status.Should().Be(StoreVerifyStatus.Invalid);
        wrong.AttemptsLeft.Should().Be(MaxAttempts - 3, "the registration came back with the guesses made before it was consumed");
        (await VerifyAsync(key, RightHash)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    [Fact]
    public async Task CancelSendAsync_AfterGuessesOnTheUndoneCode_ThePreviousCodeComesBackWithThemCounted()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        Time.Advance(Cooldown);
        (await ResendAsync(key, NewHash)).Status.Should().Be(SendGateStatus.Allowed);
        await VerifyAsync(key, WrongHash);

        await Store.CancelSendAsync(key, NewHash);

        // The first code had MaxAttempts - 1 left when it was replaced; one guess was made on the undone one.
        var wrong = await VerifyAsync(key, WrongHash);
        wrong.AttemptsLeft.Should().Be(MaxAttempts - 3);
        (await VerifyAsync(key, RightHash)).Status.Should().Be(StoreVerifyStatus.MaxAttempts);
    }

    private async Task<(PendingKey Key, StoreVerifyResult Success)> RightCodeAfterTwoWrongGuessesAsync()
    {
        var key = await CreateAsync();
        await VerifyAsync(key, WrongHash);
        await VerifyAsync(key, WrongHash);
        return (key, await VerifyAsync(key, RightHash));
    }

    /// <summary>What a store must answer to one more send at <paramref name="now"/>, given the sends still held.</summary>
    private static SendGateResult ModelGate(List<long> sends, SendPolicy policy, DateTimeOffset now)
    {
        var nowTicks = now.UtcTicks;
        var memory = Math.Max(policy.Window.Ticks, policy.Cooldown.Ticks);
        sends.RemoveAll(sent => nowTicks - sent >= memory);
        if (policy.Cooldown > TimeSpan.Zero && sends.Count > 0)
        {
            var since = TimeSpan.FromTicks(nowTicks - sends.Max());
            if (since < policy.Cooldown)
            {
                return new SendGateResult(SendGateStatus.TooFrequent, policy.Cooldown - since);
            }
        }

        var inWindow = sends.Where(sent => nowTicks - sent < policy.Window.Ticks).Order().ToList();
        return inWindow.Count >= policy.MaxPerWindow
            ? new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromTicks(inWindow[inWindow.Count - policy.MaxPerWindow] + policy.Window.Ticks - nowTicks))
            : SendGateResult.Allowed;
    }
}
