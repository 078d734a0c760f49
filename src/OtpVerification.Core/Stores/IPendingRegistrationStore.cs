namespace OtpVerification.Stores;

/// <summary>
/// Holds pending registrations and their send limits. Every member is one atomic operation: two
/// callers on any number of app instances that share the store never see a half-applied change,
/// never both consume one code, and never together evaluate more guesses than the attempts left.
/// A store never sees a plaintext code or password.
/// </summary>
/// <remarks>
/// Implementations throw <see cref="OtpStoreUnavailableException"/> when the backing service
/// cannot be reached or answers with an error; every expected outcome is a return value.
/// The shared contract test suite (<c>PendingRegistrationStoreContract</c>) defines the behaviour.
/// <para>
/// <b>Implementing a store, and how this interface evolves.</b> Implement this interface directly
/// (and <see cref="IDistributedPendingRegistrationStore"/> when several app instances share the
/// store). A store written against one version keeps compiling and working with later ones: a
/// member added after 1.0 always comes with a default implementation (forwarding to existing
/// members, as the <c>ResendAsync</c> and <c>RedirectAsync</c> overloads without a protected code
/// do), and a capability that cannot be expressed with existing members arrives as a separate
/// optional interface the engine tests for (like <see cref="IOtpStoreHealth"/>). Members without
/// a default are never added, nor are existing signatures changed, within a major version.
/// </para>
/// </remarks>
public interface IPendingRegistrationStore
{
    /// <summary>
    /// Takes a send slot for the registration's key (cooldown and rolling window limit) and, when
    /// one is granted, stores the registration, replacing any earlier one for that key. The
    /// replaced one is kept aside until the send is confirmed or undone
    /// (<see cref="CancelSendAsync"/> puts it back).
    /// </summary>
    /// <param name="registration">The new entry.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see cref="SendGateStatus.Allowed"/>, <see cref="SendGateStatus.TooFrequent"/>, <see cref="SendGateStatus.RateLimited"/> or <see cref="SendGateStatus.CapacityExceeded"/>.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a send slot for a key without storing a registration: the per-client limit, the
    /// per-destination limits and the app-wide SMS budget.
    /// </summary>
    /// <param name="key">The key whose limits apply.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see cref="SendGateStatus.Allowed"/>, <see cref="SendGateStatus.TooFrequent"/>, <see cref="SendGateStatus.RateLimited"/> or <see cref="SendGateStatus.CapacityExceeded"/>.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a send slot and, when granted and a registration exists, either keeps its current
    /// code (when <see cref="ResendCode.ReuseWhileRemaining"/> allows and the entry holds the code
    /// protected: its expiry and attempts left stay as they are) or replaces it with
    /// <see cref="ResendCode.CodeHash"/> (recorded as delivered to the entry's first destination,
    /// with <see cref="ResendCode.MaxAttempts"/> attempts), and returns the entry as it now is. What
    /// the resend replaced is kept aside until the send is undone (<see cref="CancelSendAsync"/>
    /// puts it back, with its attempts left, expiry and destination) or replaced by a later send.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="code">The new code, and when the current one may be sent again instead.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Allowed with the entry (its <see cref="PendingRegistration.CodeHash"/> tells which code it holds), <see cref="SendGateStatus.NotFound"/> (slot counted, nothing to send), or a refusal.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>A resend that always issues a new code (<see cref="ResendAsync(PendingKey, ResendCode, SendPolicy, DateTimeOffset, CancellationToken)"/> without reuse).</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="codeHash">The hash of the new code.</param>
    /// <param name="codeExpiresAt">When the new code stops working. When it is later than the entry's <see cref="PendingRegistration.ExpiresAt"/>, the entry is kept until then: a code sent is never cut short (and its <c>expiresIn</c> never tells how old the entry is).</param>
    /// <param name="maxAttempts">Attempts allowed for the new code.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>As the other overload.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] codeHash, DateTimeOffset codeExpiresAt, int maxAttempts, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => ResendAsync(key, new ResendCode { CodeHash = codeHash, CodeExpiresAt = codeExpiresAt, MaxAttempts = maxAttempts }, policy, now, cancellationToken);

    /// <summary>
    /// Moves a send to a fallback destination: while the entry still carries
    /// <paramref name="expectedCodeHash"/>, replaces it with <paramref name="codeHash"/> (and its
    /// protected copy, or none) delivered to <paramref name="destination"/> (same expiry and
    /// attempts). The code that did not arrive stops working, and only the fallback destination is
    /// proven by the new one. Takes no send slot.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="expectedCodeHash">The hash of the code whose delivery failed.</param>
    /// <param name="codeHash">The hash of the code for the fallback destination.</param>
    /// <param name="protectedCode">That code, protected, for a later same-code resend; <see langword="null"/> when it cannot be sent again.</param>
    /// <param name="destination">The fallback destination.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the entry was moved; <see langword="false"/> when it changed meanwhile (send nothing).</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default);

    /// <summary>A redirect whose new code cannot be sent again (<see cref="RedirectAsync(PendingKey, byte[], byte[], byte[], OtpDestination, CancellationToken)"/> with no protected copy).</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="expectedCodeHash">The hash of the code whose delivery failed.</param>
    /// <param name="codeHash">The hash of the code for the fallback destination.</param>
    /// <param name="destination">The fallback destination.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>As the other overload.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, OtpDestination destination, CancellationToken cancellationToken = default)
        => RedirectAsync(key, expectedCodeHash, codeHash, null, destination, cancellationToken);

    /// <summary>
    /// Verifies a code for a flow and consumes the entry on success. Nothing is evaluated or
    /// counted unless <paramref name="flowId"/> is the entry's current flow. The attempt is
    /// counted before the hashes are compared, so parallel guesses never evaluate more than the
    /// attempts left; when the count cannot be written, nothing is compared.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="flowId">The flow the client holds.</param>
    /// <param name="codeHashes">The hashes of the code offered: one per hash key in use (the current key first, then a previous one being rotated out). One attempt is counted whatever their number.</param>
    /// <param name="deviceId">The device offering it, if the client sent one.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The outcome; on success the removed entry.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Undoes a send that could not be delivered, only while the registration still carries
    /// <paramref name="codeHash"/> (so a newer send is never undone): gives the send slot back and
    /// puts back what the send replaced: the previous code with its attempts left and expiry (a
    /// resend), the registration it replaced (a restart), or nothing (a first start). Otherwise
    /// it does nothing.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="codeHash">The hash of the code that was not delivered.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the send is undone.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts back a registration consumed by a successful verify when the step after it failed (the
    /// user database was down), unless the key holds another registration by now. Takes no send slot.
    /// </summary>
    /// <param name="registration">The consumed registration, as verify returned it.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when it was put back.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks <paramref name="key"/> used until <paramref name="expiresAt"/>, atomically, and says
    /// whether this call was the first to do so: of any number of concurrent calls for one key, on
    /// any number of app instances sharing the store, exactly one gets <see langword="true"/> while
    /// the mark lives. Single-use tokens (the phone proof of verify-first signup) are redeemed
    /// with it, keyed by their random id. The mark expires by itself; nothing else is stored.
    /// </summary>
    /// <remarks>
    /// The default implementation takes the key's only send slot of a window as long as the mark
    /// (<see cref="ReserveSendAsync"/> with a limit of one), which every store that keeps the
    /// contract performs atomically; the stores of this family implement it directly.
    /// </remarks>
    /// <param name="key">The token's key (its purpose and random id).</param>
    /// <param name="expiresAt">When the mark may be forgotten: no earlier than the token stops being accepted.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> for the first use; <see langword="false"/> when the key was used already.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached, or has no room for the mark.</exception>
    async ValueTask<bool> ConsumeOnceAsync(PendingKey key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var life = expiresAt - now;
        if (life <= TimeSpan.Zero)
        {
            life = TimeSpan.FromSeconds(1);
        }

        var gate = await ReserveSendAsync(key, new SendPolicy(life, 1, life), now, cancellationToken).ConfigureAwait(false);
        return gate.Status switch
        {
            SendGateStatus.Allowed => true,
            SendGateStatus.CapacityExceeded => throw new OtpStoreUnavailableException("The store has no room to record a single use."),
            _ => false,
        };
    }

    /// <summary>Removes the registration for a key (its send limits stay).</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when an entry was removed.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default);
}

/// <summary>The store could not be reached or failed; the operation did not take effect. Mapped to 503 by the HTTP layer.</summary>
public sealed class OtpStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OtpStoreUnavailableException()
        : base("The pending-registration store is unavailable.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public OtpStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the fault that caused it.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying fault.</param>
    public OtpStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
