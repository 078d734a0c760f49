using System.Globalization;
using OtpVerification.Stores;

namespace OtpVerification;

/// <summary>The outcome of an engine call, one per error code of the HTTP contract.</summary>
public enum OtpOutcome
{
    /// <summary>A code was sent (or, to hide that an account exists, the answer looks as if it was).</summary>
    Accepted = 0,

    /// <summary>The code was right and in time; the pending entry was consumed.</summary>
    Verified = 1,

    /// <summary>A code was sent to this address less than the cooldown ago (<c>too_frequent</c>).</summary>
    TooFrequent = 2,

    /// <summary>The hourly allowance for this address is used up (<c>rate_limited</c>).</summary>
    RateLimited = 3,

    /// <summary>Wrong code (<c>invalid_code</c>).</summary>
    InvalidCode = 4,

    /// <summary>The code is past its lifetime (<c>code_expired</c>).</summary>
    CodeExpired = 5,

    /// <summary>Every attempt for this code was used (<c>max_attempts</c>).</summary>
    MaxAttempts = 6,

    /// <summary>The entry is bound to another device (<c>device_mismatch</c>).</summary>
    DeviceMismatch = 7,

    /// <summary>The store or every sender failed, or the store is full; nothing was left half-written (<c>unavailable</c>).</summary>
    Unavailable = 8,

    /// <summary>The flow id is not the address's current flow: restarted, used, expired or never issued (<c>flow_expired</c>).</summary>
    FlowExpired = 9,
}

/// <summary>The answer to start or resend.</summary>
/// <param name="Outcome"><see cref="OtpOutcome.Accepted"/>, <see cref="OtpOutcome.TooFrequent"/>, <see cref="OtpOutcome.RateLimited"/> or <see cref="OtpOutcome.Unavailable"/>.</param>
/// <param name="ExpiresIn">How long the code is valid.</param>
/// <param name="ResendAfter">How long until another code may be sent.</param>
/// <param name="RetryAfter">For refusals, how long until a retry can succeed.</param>
/// <param name="FlowId">For an accepted start, the new flow's id: verify must send it back.</param>
public readonly record struct OtpSendResult(OtpOutcome Outcome, TimeSpan ExpiresIn, TimeSpan ResendAfter, TimeSpan RetryAfter, string? FlowId = null);

/// <summary>The answer to verify.</summary>
/// <param name="Outcome"><see cref="OtpOutcome.Verified"/> or one of the refusals.</param>
/// <param name="AttemptsRemaining">For <see cref="OtpOutcome.InvalidCode"/> with a pending entry, attempts left.</param>
/// <param name="Registration">On success, the consumed entry (its protected payload included).</param>
public readonly record struct OtpVerifyResult(OtpOutcome Outcome, int? AttemptsRemaining, PendingRegistration? Registration);

/// <summary>What start needs: the key, where to send, and the protected payload.</summary>
public sealed class OtpStartRequest
{
    /// <summary>What the code is for.</summary>
    public required OtpPurpose Purpose { get; init; }

    /// <summary>The normalised address the entry is keyed by (for signup, the email).</summary>
    public required string Address { get; init; }

    /// <summary>Where to send the code, most preferred first; later destinations are fallbacks.</summary>
    public required IReadOnlyList<OtpDestination> Destinations { get; init; }

    /// <summary>The device starting the flow; when set, verify must come from the same device.</summary>
    public string? DeviceId { get; init; }

    /// <summary>The protected payload (for signup, the protected form).</summary>
    public byte[] Payload { get; init; } = [];

    /// <summary>
    /// The client asking (its IP address, say), for the per-client hourly send limit
    /// (<see cref="OtpAbuseOptions.MaxSendsPerClientPerHour"/>); <see langword="null"/> skips it.
    /// </summary>
    public string? ClientKey { get; init; }

    /// <summary>
    /// Store a decoy and send nothing, but answer exactly as for a real send: used where a code
    /// only goes to registered addresses (password reset, sign-in) and the address has no account.
    /// The decoy takes send slots, counts attempts and answers verify like a real entry, and no
    /// code ever matches it.
    /// </summary>
    public bool Decoy { get; init; }

    /// <summary>
    /// The language of the message (the request's, captured now: delivery may happen after the
    /// answer); <see langword="null"/>: <see cref="OtpMessageOptions.Culture"/>.
    /// </summary>
    public CultureInfo? Culture { get; init; }

    /// <summary>
    /// The host of the request, for the WebOTP line that ends an SMS (<c>@host #code</c>), used
    /// when <see cref="OtpMessageOptions.WebOtpHost"/> is not configured (which takes precedence);
    /// no line when neither is a host name.
    /// </summary>
    public string? WebOtpHost { get; init; }
}

/// <summary>What resend needs: the entry's purpose and address, and how to word the message.</summary>
public sealed class OtpResendRequest
{
    /// <summary>What the code is for.</summary>
    public required OtpPurpose Purpose { get; init; }

    /// <summary>The normalised address of the pending entry.</summary>
    public required string Address { get; init; }

    /// <summary>The client asking, for the per-client send limit; <see langword="null"/> skips it.</summary>
    public string? ClientKey { get; init; }

    /// <summary>The language of the message (see <see cref="OtpStartRequest.Culture"/>).</summary>
    public CultureInfo? Culture { get; init; }

    /// <summary>The host of the WebOTP line (see <see cref="OtpStartRequest.WebOtpHost"/>).</summary>
    public string? WebOtpHost { get; init; }
}
