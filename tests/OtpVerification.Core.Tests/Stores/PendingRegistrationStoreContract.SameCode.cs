using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Stores;

/// <summary>Same-code resends (issue 21), for every store.</summary>
public abstract partial class PendingRegistrationStoreContract
{
    private static readonly byte[] KeptCode = [9, 8, 7, 6, 5, 4, 3, 2, 1];
    private static readonly byte[] OfferedCode = [1, 1, 1, 1];

    [Fact]
    public async Task SameCodeResend_EarlyInTheLifetime_KeepsTheCodeItsExpiryAndItsAttemptsLeft()
    {
        var key = await CreateKeptAsync();
        await WrongGuessAsync(key);
        Time.Advance(TimeSpan.FromMinutes(2));

        var gate = await Store.ResendAsync(key, Offer(reuse: TimeSpan.FromMinutes(5)), Policy, Time.GetUtcNow());

        gate.Status.Should().Be(SendGateStatus.Allowed);
        var kept = gate.Registration!;
        kept.CodeHash.Should().Equal(StoredHash, "the same code is sent again");
        kept.ProtectedCode.Should().Equal(KeptCode);
        kept.AttemptsLeft.Should().Be(MaxAttempts - 1, "a resend never refills the guesses");
        kept.CodeExpiresAt.Should().Be(Issued + CodeLifetime);
        (await Store.VerifyAndConsumeAsync(key, Flow, [StoredHash], null, Time.GetUtcNow())).Status.Should().Be(StoreVerifyStatus.Success);
    }

    [Fact]
    public async Task SameCodeResend_LateInTheLifetime_SendsANewCodeAndTheOldOneDies()
    {
        var key = await CreateKeptAsync();
        await WrongGuessAsync(key);
        Time.Advance(TimeSpan.FromMinutes(6));

        var gate = await Store.ResendAsync(key, Offer(reuse: TimeSpan.FromMinutes(5)), Policy, Time.GetUtcNow());

        var updated = gate.Registration!;
        updated.CodeHash.Should().Equal(OfferedHash);
        updated.ProtectedCode.Should().Equal(OfferedCode);
        updated.AttemptsLeft.Should().Be(MaxAttempts);
        (await Store.VerifyAndConsumeAsync(key, Flow, [StoredHash], null, Time.GetUtcNow())).Status.Should().Be(StoreVerifyStatus.Invalid);
    }

    [Fact]
    public async Task NewCodeResend_AlwaysReplacesTheCode()
    {
        var key = await CreateKeptAsync();

        var gate = await Store.ResendAsync(key, Offer(reuse: null), Policy, Time.GetUtcNow());

        gate.Registration!.CodeHash.Should().Equal(OfferedHash);
    }

    [Fact]
    public async Task SameCodeResend_WithNoAttemptsLeft_SendsANewCode()
    {
        var key = await CreateKeptAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            await WrongGuessAsync(key);
        }

        var gate = await Store.ResendAsync(key, Offer(reuse: TimeSpan.Zero), Policy, Time.GetUtcNow());

        gate.Registration!.CodeHash.Should().Equal(OfferedHash, "a locked code is never sent again");
        gate.Registration.AttemptsLeft.Should().Be(MaxAttempts);
    }

    [Fact]
    public async Task SameCodeResend_Undone_LeavesEverythingAsItWasAndGivesTheSlotBack()
    {
        var key = await CreateKeptAsync();
        await WrongGuessAsync(key);
        var gate = await Store.ResendAsync(key, Offer(reuse: TimeSpan.FromMinutes(5)), Policy, Time.GetUtcNow());

        await Store.CancelSendAsync(key, gate.Registration!.CodeHash);

        (await Store.VerifyAndConsumeAsync(key, Flow, [WrongHashForSameCode], null, Time.GetUtcNow())).AttemptsLeft.Should().Be(MaxAttempts - 2);
        (await Store.ResendAsync(key, Offer(reuse: TimeSpan.FromMinutes(5)), Policy, Time.GetUtcNow())).Status.Should().Be(SendGateStatus.Allowed, "the undone send's slot was given back");
    }

    [Fact]
    public async Task Redirect_WithAProtectedCode_KeepsItForTheNextSameCodeResend()
    {
        var key = await CreateKeptAsync();
        byte[] fallbackProtected = [4, 4, 4];

        (await Store.RedirectAsync(key, StoredHash, OfferedHash, fallbackProtected, SmsDestination)).Should().BeTrue();
        var gate = await Store.ResendAsync(key, Offer(reuse: TimeSpan.FromMinutes(5), hash: WrongHashForSameCode), Policy, Time.GetUtcNow());

        gate.Registration!.CodeHash.Should().Equal(OfferedHash);
        gate.Registration.ProtectedCode.Should().Equal(fallbackProtected);
        gate.Registration.DeliveredTo.Should().Be(SmsDestination, "the same code goes to the destination it proves");
    }

    private static byte[] StoredHash { get; } = System.Security.Cryptography.SHA256.HashData("stored"u8);

    private static byte[] OfferedHash { get; } = System.Security.Cryptography.SHA256.HashData("offered"u8);

    private static byte[] WrongHashForSameCode { get; } = System.Security.Cryptography.SHA256.HashData("nope"u8);

    private DateTimeOffset Issued { get; set; }

    private ResendCode Offer(TimeSpan? reuse, byte[]? hash = null) => new()
    {
        CodeHash = hash ?? OfferedHash,
        ProtectedCode = OfferedCode,
        CodeExpiresAt = Time.GetUtcNow() + CodeLifetime,
        MaxAttempts = MaxAttempts,
        ReuseWhileRemaining = reuse,
    };

    private async Task<PendingKey> CreateKeptAsync()
    {
        var key = NewKey();
        Issued = Time.GetUtcNow();
        var registration = NewRegistration(key, StoredHash, Issued) with { ProtectedCode = KeptCode };
        (await Store.CreateOrReplaceAsync(registration, Policy, Issued)).Status.Should().Be(SendGateStatus.Allowed);
        Time.Advance(Cooldown);
        return key;
    }

    private async Task WrongGuessAsync(PendingKey key)
        => (await Store.VerifyAndConsumeAsync(key, Flow, [WrongHashForSameCode], null, Time.GetUtcNow())).Status.Should().BeOneOf(StoreVerifyStatus.Invalid, StoreVerifyStatus.MaxAttempts);
}
