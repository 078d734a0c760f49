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
/// <remarks>Members may be added in later versions; create and read it by property name.</remarks>
public readonly record struct OtpSendResult
{
    /// <summary><see cref="OtpOutcome.Accepted"/>, <see cref="OtpOutcome.TooFrequent"/>, <see cref="OtpOutcome.RateLimited"/> or <see cref="OtpOutcome.Unavailable"/>.</summary>
    public OtpOutcome Outcome { get; init; }

    /// <summary>How long the code is valid.</summary>
    public TimeSpan ExpiresIn { get; init; }

    /// <summary>How long until another code may be sent.</summary>
    public TimeSpan ResendAfter { get; init; }

    /// <summary>For refusals, how long until a retry can succeed.</summary>
    public TimeSpan RetryAfter { get; init; }

    /// <summary>For an accepted start, the new flow's id: verify must send it back.</summary>
    public string? FlowId { get; init; }
}

/// <summary>The answer to verify.</summary>
/// <remarks>Members may be added in later versions; create and read it by property name.</remarks>
public readonly record struct OtpVerifyResult
{
    /// <summary><see cref="OtpOutcome.Verified"/> or one of the refusals.</summary>
    public OtpOutcome Outcome { get; init; }

    /// <summary>For <see cref="OtpOutcome.InvalidCode"/> with a pending entry, attempts left.</summary>
    public int? AttemptsRemaining { get; init; }

    /// <summary>
    /// On success, what the verified registration carries: its protected payload, the address the
    /// code went to, the device. <see langword="null"/> for every other outcome.
    /// </summary>
    public OtpVerifiedRegistration? Registration { get; init; }
}

/// <summary>
/// A registration whose code was just verified (and consumed): what the caller needs to finish
/// the flow. When finishing fails for a reason the user cannot fix (the user database is down),
/// <see cref="OtpEngine.RestoreAsync(OtpVerifiedRegistration, CancellationToken)"/> puts it back so
/// the same code works again.
/// </summary>
public sealed class OtpVerifiedRegistration
{
    internal OtpVerifiedRegistration(PendingRegistration entry) => Entry = entry;

    /// <summary>What the code was for.</summary>
    public OtpPurpose Purpose => Entry.Key.Purpose;

    /// <summary>The normalised address the registration was keyed by.</summary>
    public string Address => Entry.Key.Address;

    /// <summary>The payload given at start, still protected (for signup, the protected form).</summary>
    public ReadOnlyMemory<byte> Payload => Entry.Payload;

    /// <summary>The destination the verified code was sent to: the only address a right code proves.</summary>
    public OtpDestination DeliveredTo => Entry.DeliveredTo;

    /// <summary>The device the flow was started from, when the client sent one.</summary>
    public string? DeviceId => Entry.DeviceId;

    /// <summary>How many wrong guesses the code still allowed when it was verified: what to answer as <c>attemptsRemaining</c> when the app refuses a right code as if it were wrong (a locked-out account at sign-in).</summary>
    public int AttemptsRemaining => Entry.AttemptsLeft;

    /// <summary>The stored entry, for putting it back.</summary>
    internal PendingRegistration Entry { get; }

    /// <inheritdoc />
    public override string ToString() => $"OtpVerifiedRegistration {{ Purpose = {Purpose}, Address = {OtpAddress.Mask(Address)}, DeliveredTo = {DeliveredTo.Channel} }}";
}

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
