namespace OtpVerification.Stores;

/// <summary>The key of a pending entry: its purpose and normalised address.</summary>
/// <param name="Purpose">What the code is for.</param>
/// <param name="Address">The normalised address (email or E.164 phone) the entry is keyed by.</param>
public readonly record struct PendingKey(OtpPurpose Purpose, string Address);

/// <summary>
/// A registration waiting for its code: never a plaintext code or password, only the keyed hash
/// of the code and the payload as protected bytes.
/// </summary>
public sealed record PendingRegistration
{
    /// <summary>The entry's key.</summary>
    public required PendingKey Key { get; init; }

    /// <summary>
    /// The flow this entry belongs to: an opaque id handed to the client that started it, which
    /// verify must send back. A restart stores a new flow id, so an older one stops working.
    /// </summary>
    public required string FlowId { get; init; }

    /// <summary>The keyed hash of the current code (<see cref="IOtpCodeHasher"/>).</summary>
    public required byte[] CodeHash { get; init; }

    /// <summary>
    /// The current code, encrypted (<see cref="IOtpCodeProtector"/>), so a resend can send it again;
    /// <see langword="null"/> when the entry cannot send it again (a new code is sent then). Never a
    /// plaintext code.
    /// </summary>
    public byte[]? ProtectedCode { get; init; }

    /// <summary>When the current code stops working.</summary>
    public required DateTimeOffset CodeExpiresAt { get; init; }

    /// <summary>When the whole entry is dropped, verified or not.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Wrong guesses left for the current code.</summary>
    public required int AttemptsLeft { get; init; }

    /// <summary>Where codes go, most preferred first; later ones are fallbacks.</summary>
    public required IReadOnlyList<OtpDestination> Destinations { get; init; }

    /// <summary>
    /// The destination the current code was sent to: only this address is proven by a right code.
    /// A send records the first destination; a fallback moves the entry to a new code for the
    /// fallback destination (<see cref="IPendingRegistrationStore.RedirectAsync(PendingKey, byte[], byte[], byte[], OtpDestination, CancellationToken)"/>).
    /// </summary>
    public required OtpDestination DeliveredTo { get; init; }

    /// <summary>The device the registration was started from, when the client sent one; verify must come from it.</summary>
    public string? DeviceId { get; init; }

    /// <summary>
    /// A decoy: stored for an address that has no account (password reset, sign-in), so every
    /// answer matches a real entry's; its code hash matches no code and nothing is ever sent.
    /// </summary>
    public bool Decoy { get; init; }

    /// <summary>The protected payload (for signup, the protected form); opaque to the store.</summary>
    public required byte[] Payload { get; init; }
}

/// <summary>What a resend offers the store: a new code, and when the current one may be sent again instead.</summary>
public sealed record ResendCode
{
    /// <summary>The hash of the new code.</summary>
    public required byte[] CodeHash { get; init; }

    /// <summary>The new code, protected (<see cref="IOtpCodeProtector"/>), for a later same-code resend; <see langword="null"/> when it cannot be sent again.</summary>
    public byte[]? ProtectedCode { get; init; }

    /// <summary>When the new code stops working. When it is later than the entry's <see cref="PendingRegistration.ExpiresAt"/>, the entry is kept until then.</summary>
    public required DateTimeOffset CodeExpiresAt { get; init; }

    /// <summary>Attempts allowed for the new code.</summary>
    public required int MaxAttempts { get; init; }

    /// <summary>
    /// Keep the current code instead when at least this much of its lifetime is left (and the
    /// entry holds it protected and has attempts left); <see langword="null"/>: always the new code.
    /// </summary>
    public TimeSpan? ReuseWhileRemaining { get; init; }
}

/// <summary>The send limits a store enforces atomically with each send.</summary>
/// <param name="Cooldown">Minimum time between two sends to one key.</param>
/// <param name="MaxPerWindow">Sends allowed per key within any span of <paramref name="Window"/> (a rolling window).</param>
/// <param name="Window">The length of the rolling window (one hour).</param>
public readonly record struct SendPolicy(TimeSpan Cooldown, int MaxPerWindow, TimeSpan Window);

/// <summary>The outcome of asking a store for a send slot.</summary>
public enum SendGateStatus
{
    /// <summary>The send was allowed and counted.</summary>
    Allowed = 0,

    /// <summary>The last send was less than the cooldown ago.</summary>
    TooFrequent = 1,

    /// <summary>The rolling window's allowance is used up.</summary>
    RateLimited = 2,

    /// <summary>The store is full and refuses new keys.</summary>
    CapacityExceeded = 3,

    /// <summary>A resend for a key with no pending registration: the slot was counted, nothing is to be sent.</summary>
    NotFound = 4,
}

/// <summary>A store's answer to a send request.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="RetryAfter">For <see cref="SendGateStatus.TooFrequent"/> and <see cref="SendGateStatus.RateLimited"/>, how long until a send is allowed.</param>
/// <param name="Registration">For an allowed resend, the entry as updated (destinations to send to).</param>
public readonly record struct SendGateResult(SendGateStatus Status, TimeSpan RetryAfter = default, PendingRegistration? Registration = null)
{
    /// <summary>An allowed send.</summary>
    public static SendGateResult Allowed { get; } = new(SendGateStatus.Allowed);
}

/// <summary>The outcome of verify-and-consume.</summary>
public enum StoreVerifyStatus
{
    /// <summary>The code matched; the entry was removed and is returned.</summary>
    Success = 0,

    /// <summary>No pending entry (never started, verified already, or dropped).</summary>
    NotFound = 1,

    /// <summary>The code did not match; one attempt was used.</summary>
    Invalid = 2,

    /// <summary>The code is past its lifetime.</summary>
    Expired = 3,

    /// <summary>No attempts are left for this code.</summary>
    MaxAttempts = 4,

    /// <summary>The entry is bound to another device.</summary>
    DeviceMismatch = 5,

    /// <summary>The entry belongs to another flow (it was restarted); nothing was evaluated or counted.</summary>
    FlowMismatch = 6,
}

/// <summary>A store's answer to verify-and-consume.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="AttemptsLeft">Attempts left after this one (for <see cref="StoreVerifyStatus.Invalid"/>).</param>
/// <param name="Registration">The consumed entry, on success.</param>
public readonly record struct StoreVerifyResult(StoreVerifyStatus Status, int AttemptsLeft = 0, PendingRegistration? Registration = null);
