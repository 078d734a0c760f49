using OtpVerification.Stores;

namespace OtpVerification.Core.Tests.Stores;

/// <summary><see cref="IPendingRegistrationStore.ConsumeOnceAsync"/>: single use of a token id, atomically.</summary>
public abstract partial class PendingRegistrationStoreContract
{
    private static PendingKey NewProofKey() => new(OtpPurpose.PhoneVerification, "proof:" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task ConsumeOnceAsync_FirstUse_IsTrue()
    {
        (await Store.ConsumeOnceAsync(NewProofKey(), Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow())).Should().BeTrue();
    }

    [Fact]
    public async Task ConsumeOnceAsync_SecondUse_IsFalse()
    {
        var key = NewProofKey();
        await Store.ConsumeOnceAsync(key, Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow());

        (await Store.ConsumeOnceAsync(key, Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow())).Should().BeFalse();
    }

    [Fact]
    public async Task ConsumeOnceAsync_AnotherKey_IsIndependent()
    {
        await Store.ConsumeOnceAsync(NewProofKey(), Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow());

        (await Store.ConsumeOnceAsync(NewProofKey(), Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow())).Should().BeTrue();
    }

    [Fact]
    public async Task ConsumeOnceAsync_200ParallelUses_ExactlyOneIsFirst()
    {
        var key = NewProofKey();
        var now = Time.GetUtcNow();

        var uses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await Store.ConsumeOnceAsync(key, now + TimeSpan.FromMinutes(15), now))));

        uses.Count(u => u).Should().Be(1);
    }

    [Fact]
    public async Task ConsumeOnceAsync_DoesNotTouchTheSendLimitsOfTheKey()
    {
        var key = NewProofKey();
        await Store.ConsumeOnceAsync(key, Time.GetUtcNow() + TimeSpan.FromMinutes(15), Time.GetUtcNow());

        (await Store.ReserveSendAsync(key, Policy, Time.GetUtcNow())).Status.Should().Be(SendGateStatus.Allowed);
    }
}
