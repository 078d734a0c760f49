using System.Diagnostics.Metrics;

namespace OtpVerification.Diagnostics;

/// <summary>
/// The engine's metrics, on the meter <see cref="MeterName"/>. Tags carry purpose, channel and
/// outcome names only: never an address, a code or a hash.
/// </summary>
public sealed class OtpMetrics : IDisposable
{
    /// <summary>The name of the meter.</summary>
    public const string MeterName = "OtpVerification";

    private readonly Meter _meter;
    private readonly Counter<long> _codesSent;
    private readonly Counter<long> _sendsRefused;
    private readonly Counter<long> _verifications;
    private readonly Counter<long> _deliveryFailures;
    private readonly Counter<long> _payloadsUnreadable;
    private readonly Counter<long> _storeEvictions;
    private readonly Counter<long> _capacityRefusals;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>, or on a private meter when it is null.</summary>
    /// <param name="meterFactory">The host's meter factory.</param>
    public OtpMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _codesSent = _meter.CreateCounter<long>("otp_verification.codes.sent", "{code}", "Codes handed to a sender.");
        _sendsRefused = _meter.CreateCounter<long>("otp_verification.sends.refused", "{request}", "Start or resend requests refused by the send limits.");
        _verifications = _meter.CreateCounter<long>("otp_verification.verifications", "{request}", "Verify requests, by outcome.");
        _deliveryFailures = _meter.CreateCounter<long>("otp_verification.delivery.failures", "{message}", "Messages a sender failed to deliver.");
        _payloadsUnreadable = _meter.CreateCounter<long>("otp_verification.payloads.unreadable", "{request}", "Right codes whose pending payload this instance could not decrypt (answered 503): the Data Protection key ring is not shared by every instance.");
        _storeEvictions = _meter.CreateCounter<long>("otp_verification.store.evictions", "{registration}", "Pending registrations the in-memory store dropped to make room for new ones (OtpSignup:MaxPendingEntries reached): their owners must start again.");
        _capacityRefusals = _meter.CreateCounter<long>("otp_verification.store.capacity_refusals", "{request}", "Sends refused because the store is full (in memory: OtpSignup:MaxLimitRecords; Redis: maxmemory), answered 503.");
    }

    internal void CodeSent(OtpPurpose purpose, OtpChannel channel)
    {
        if (_codesSent.Enabled)
        {
            _codesSent.Add(1, new("purpose", Senders.OtpNames.Purpose(purpose)), new("channel", Senders.OtpNames.Channel(channel)));
        }
    }

    internal void SendRefused(OtpPurpose purpose, OtpOutcome outcome)
    {
        if (_sendsRefused.Enabled)
        {
            _sendsRefused.Add(1, new("purpose", Senders.OtpNames.Purpose(purpose)), new("outcome", OutcomeName(outcome)));
        }
    }

    internal void Verified(OtpPurpose purpose, OtpOutcome outcome)
    {
        if (_verifications.Enabled)
        {
            _verifications.Add(1, new("purpose", Senders.OtpNames.Purpose(purpose)), new("outcome", OutcomeName(outcome)));
        }
    }

    internal void DeliveryFailed(OtpChannel channel)
    {
        if (_deliveryFailures.Enabled)
        {
            _deliveryFailures.Add(1, new KeyValuePair<string, object?>("channel", Senders.OtpNames.Channel(channel)));
        }
    }

    /// <summary>
    /// Counts a right code whose pending payload this instance could not decrypt
    /// (<c>otp_verification.payloads.unreadable</c>, tagged with the purpose). Anything above zero
    /// means the instances do not share the Data Protection key ring (or a key was lost).
    /// </summary>
    /// <param name="purpose">The purpose of the code.</param>
    public void PayloadUnreadable(OtpPurpose purpose)
    {
        if (_payloadsUnreadable.Enabled)
        {
            _payloadsUnreadable.Add(1, new KeyValuePair<string, object?>("purpose", Senders.OtpNames.Purpose(purpose)));
        }
    }

    /// <summary>
    /// Counts pending registrations a store evicted to make room (<c>otp_verification.store.evictions</c>).
    /// Anything above zero means the store is at its cap: a flood, or a cap too small for the traffic.
    /// </summary>
    /// <param name="count">How many were evicted.</param>
    public void StoreEvicted(long count)
    {
        if (count > 0 && _storeEvictions.Enabled)
        {
            _storeEvictions.Add(count);
        }
    }

    /// <summary>
    /// Counts a send refused because the store is full (<c>otp_verification.store.capacity_refusals</c>,
    /// tagged with the purpose): the client got 503.
    /// </summary>
    /// <param name="purpose">The purpose of the refused send.</param>
    public void CapacityRefused(OtpPurpose purpose)
    {
        if (_capacityRefusals.Enabled)
        {
            _capacityRefusals.Add(1, new KeyValuePair<string, object?>("purpose", Senders.OtpNames.Purpose(purpose)));
        }
    }

    /// <summary>The contract's snake_case name of an outcome.</summary>
    /// <param name="outcome">The outcome.</param>
    /// <returns>E.g. <c>invalid_code</c>.</returns>
    public static string OutcomeName(OtpOutcome outcome) => outcome switch
    {
        OtpOutcome.Accepted => "accepted",
        OtpOutcome.Verified => "verified",
        OtpOutcome.TooFrequent => "too_frequent",
        OtpOutcome.RateLimited => "rate_limited",
        OtpOutcome.InvalidCode => "invalid_code",
        OtpOutcome.CodeExpired => "code_expired",
        OtpOutcome.MaxAttempts => "max_attempts",
        OtpOutcome.DeviceMismatch => "device_mismatch",
        OtpOutcome.FlowExpired => "flow_expired",
        _ => "unavailable",
    };

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
