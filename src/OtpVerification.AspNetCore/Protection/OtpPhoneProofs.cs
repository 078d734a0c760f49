using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The <c>phoneProof</c> of verify-first signup: a random id, the phone, the device and an expiry,
/// authenticated and encrypted with ASP.NET Core Data Protection (so it cannot be forged, altered
/// or read, and every instance sharing the key ring accepts it), and redeemed once through the
/// store (<see cref="IPendingRegistrationStore.ConsumeOnceAsync"/>), so a second use fails on every
/// instance that shares the store.
/// </summary>
internal sealed class OtpPhoneProofs(IDataProtectionProvider provider, IPendingRegistrationStore store, TimeProvider time)
{
    /// <summary>How long a proof is accepted.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    /// <summary>Longer proofs are refused unread.</summary>
    public const int MaxLength = 1024;

    private readonly IDataProtector _protector = provider.CreateProtector("OtpVerification.PhoneProof.v1");

    /// <summary>A new proof for a phone verified on a device.</summary>
    public string Issue(string phone, string deviceId)
    {
        var id = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var body = new ProofBody(id, phone, deviceId, (time.GetUtcNow() + Lifetime).ToUnixTimeMilliseconds());
        return _protector.Protect(JsonSerializer.Serialize(body, OtpJson.Options));
    }

    /// <summary>
    /// Reads a proof and checks it is in time and for this phone and device, without using it.
    /// Anything else (forged, altered, another key ring, expired, another phone or device) is
    /// <see langword="false"/>.
    /// </summary>
    public bool TryRead(string? proof, string phone, string? deviceId, out Redemption redemption)
    {
        redemption = default;
        if (string.IsNullOrEmpty(proof) || proof.Length > MaxLength || string.IsNullOrEmpty(deviceId))
        {
            return false;
        }

        ProofBody? body;
        try
        {
            body = JsonSerializer.Deserialize<ProofBody>(_protector.Unprotect(proof), OtpJson.Options);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or JsonException)
        {
            return false;
        }

        if (body is null || string.IsNullOrEmpty(body.I) || body.P is null || body.D is null)
        {
            return false;
        }

        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(body.E);
        if (time.GetUtcNow() >= expiresAt
            || !string.Equals(body.P, phone, StringComparison.Ordinal)
            || !string.Equals(body.D, deviceId, StringComparison.Ordinal))
        {
            return false;
        }

        redemption = new Redemption(body.I, expiresAt);
        return true;
    }

    /// <summary>Uses a proof: <see langword="true"/> for the first use on any instance sharing the store, <see langword="false"/> after.</summary>
    /// <exception cref="OtpStoreUnavailableException">The store cannot record the use (answered 503; the proof may then be used again).</exception>
    /// <remarks>
    /// The mark outlives the proof by <see cref="ClockSkewAllowance"/>: a store such as Redis
    /// expires it by its own clock, after the life this instance computed, so an instance whose
    /// clock lags would otherwise still accept the proof once the mark is gone.
    /// </remarks>
    public ValueTask<bool> RedeemAsync(Redemption redemption, CancellationToken cancellationToken)
        => store.ConsumeOnceAsync(new PendingKey(OtpPurpose.PhoneVerification, "proof:" + redemption.Id), redemption.ExpiresAt + ClockSkewAllowance, time.GetUtcNow(), cancellationToken);

    /// <summary>How far apart the clocks of instances sharing a store may be without a used proof being accepted again.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    /// <summary>What redeeming a proof needs: its id and until when it must be remembered.</summary>
    public readonly record struct Redemption(string Id, DateTimeOffset ExpiresAt);

    /// <summary>The protected content: id, phone, device, expiry (Unix milliseconds).</summary>
    private sealed record ProofBody(string I, string P, string D, long E);
}
