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
/// </remarks>
public interface IPendingRegistrationStore
{
    /// <summary>
    /// Takes a send slot for the registration's key (cooldown and window limit) and, when one is
    /// granted, stores the registration, replacing any earlier one for that key.
    /// </summary>
    /// <param name="registration">The new entry.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see cref="SendGateStatus.Allowed"/>, <see cref="SendGateStatus.TooFrequent"/>, <see cref="SendGateStatus.RateLimited"/> or <see cref="SendGateStatus.CapacityExceeded"/>.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a send slot for a key without storing a registration: used where the answer must look
    /// like a send (an existing account with enumeration protection) but nothing is created.
    /// </summary>
    /// <param name="key">The key whose limits apply.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see cref="SendGateStatus.Allowed"/>, <see cref="SendGateStatus.TooFrequent"/>, <see cref="SendGateStatus.RateLimited"/> or <see cref="SendGateStatus.CapacityExceeded"/>.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a send slot and, when granted and a registration exists, replaces its code with
    /// <paramref name="codeHash"/>, resets its attempts to <paramref name="maxAttempts"/> and returns it.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="codeHash">The hash of the new code.</param>
    /// <param name="codeExpiresAt">When the new code stops working. When it is later than the entry's <see cref="PendingRegistration.ExpiresAt"/>, the entry is kept until then: a code sent is never cut short (and its <c>expiresIn</c> never tells how old the entry is).</param>
    /// <param name="maxAttempts">Attempts allowed for the new code.</param>
    /// <param name="policy">The send limits.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Allowed with the updated registration, <see cref="SendGateStatus.NotFound"/> (slot counted, nothing to send), or a refusal.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] codeHash, DateTimeOffset codeExpiresAt, int maxAttempts, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies a code and consumes the entry on success. The attempt is counted before the hashes
    /// are compared, so parallel guesses never evaluate more than the attempts left.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="codeHash">The hash of the code offered.</param>
    /// <param name="deviceId">The device offering it, if the client sent one.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The outcome; on success the removed entry.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, byte[] codeHash, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Undoes a send that could not be delivered, only while the registration still carries
    /// <paramref name="codeHash"/> (so a newer send is never undone): gives the send slot back
    /// and, when <paramref name="removeRegistration"/> is set, removes the registration.
    /// Otherwise it does nothing.
    /// </summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="codeHash">The hash of the code that was not delivered.</param>
    /// <param name="removeRegistration">Whether to remove the registration as well.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the slot is released.</returns>
    /// <exception cref="OtpStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, bool removeRegistration, CancellationToken cancellationToken = default);

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
