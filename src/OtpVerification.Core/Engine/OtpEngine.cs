using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification.Diagnostics;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace OtpVerification;

/// <summary>
/// The verification engine: start, resend and verify for every purpose. Every expected outcome is
/// an <see cref="OtpOutcome"/>, never an exception; a store or sender fault becomes
/// <see cref="OtpOutcome.Unavailable"/> with nothing left half-written.
/// </summary>
public sealed partial class OtpEngine
{
    private static readonly TimeSpan SendWindow = TimeSpan.FromHours(1);
    private static readonly PendingKey SmsBudgetKey = new(OtpPurpose.Signup, "budget:sms");

    private readonly IPendingRegistrationStore _store;
    private readonly IOtpCodeGenerator _generator;
    private readonly IOtpCodeHasher _hasher;
    private readonly IOtpSender?[] _senders;
    private readonly IOptionsMonitor<OtpVerificationOptions> _options;
    private readonly TimeProvider _time;
    private readonly OtpMetrics _metrics;
    private readonly ILogger<OtpEngine> _logger;
    private readonly IOtpPhoneNumbers _phones;
    private readonly IOtpCodeProtector _codes;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _deliveriesInFlight = new();
    private readonly RateLimitedReport _capacityReport = new();

    private readonly RefusedClients _refusedClients = new();

    /// <summary>Creates the engine.</summary>
    /// <param name="store">The pending-registration store.</param>
    /// <param name="generator">The code generator.</param>
    /// <param name="hasher">The code hasher.</param>
    /// <param name="senders">The senders; for each channel the last one registered is used.</param>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="metrics">The metrics.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="phoneNumbers">Where texts may go; <see cref="BasicOtpPhoneNumbers"/> when null.</param>
    /// <param name="codeProtector">Protects codes kept for a same-code resend; <see cref="AesGcmOtpCodeProtector"/> when null.</param>
    public OtpEngine(
        IPendingRegistrationStore store,
        IOtpCodeGenerator generator,
        IOtpCodeHasher hasher,
        IEnumerable<IOtpSender> senders,
        IOptionsMonitor<OtpVerificationOptions> options,
        TimeProvider timeProvider,
        OtpMetrics metrics,
        ILogger<OtpEngine> logger,
        IOtpPhoneNumbers? phoneNumbers = null,
        IOtpCodeProtector? codeProtector = null)
    {
        // Every store call and every send is a span of the OtpVerification activity source (OtpTracing).
        _store = new TracedPendingRegistrationStore(store ?? throw new ArgumentNullException(nameof(store)));
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _phones = phoneNumbers ?? new BasicOtpPhoneNumbers(options);
        _codes = codeProtector ?? new AesGcmOtpCodeProtector(Microsoft.Extensions.Options.Options.Create(options.CurrentValue));
        ArgumentNullException.ThrowIfNull(senders);
        _senders = new IOtpSender?[Enum.GetValues<OtpChannel>().Length];
        foreach (var sender in senders)
        {
            // A null is a sender switched off in this environment (the development outbox outside Development).
            if (sender is not null)
            {
                _senders[(int)sender.Channel] = new TracedOtpSender(sender);
            }
        }
    }

    /// <summary>Whether a sender is registered (and enabled in this environment) for <paramref name="channel"/>: a channel without one is never offered, nor used as a fallback.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns><see langword="true"/> when codes can go out on it.</returns>
    public bool HasSender(OtpChannel channel) => (int)channel < _senders.Length && _senders[(int)channel] is not null;

    /// <summary>
    /// Starts (or restarts) a verification: takes a send slot, stores the pending entry with a new
    /// code and a new flow id (replacing an earlier one for the same purpose and address, whose
    /// flow id then stops working) and sends the code, falling back to later destinations when a
    /// sender fails. A decoy (<see cref="OtpStartRequest.Decoy"/>) is stored and answered the same
    /// way, and nothing is sent.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call before anything is written.</param>
    /// <returns>Accepted with the flow id, TooFrequent, RateLimited or Unavailable.</returns>
    /// <exception cref="ArgumentException">The request has no address, or no destination.</exception>
    public async ValueTask<OtpSendResult> StartAsync(OtpStartRequest request, CancellationToken cancellationToken = default)
    {
        using var activity = OtpTracing.StartEngine("start", request?.Purpose ?? default, request is { Destinations.Count: > 0 } ? request.Destinations[0].Channel : null);
        var result = await StartCoreAsync(request!, cancellationToken).ConfigureAwait(false);
        OtpTracing.Finish(activity, result.Outcome);
        return result;
    }

    // Pooled (here and below): the state machine boxed while a network store answers is reused, not allocated per call.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<OtpSendResult> StartCoreAsync(OtpStartRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Address);
        if (request.Destinations.Count == 0)
        {
            throw new ArgumentException("A start request needs at least one destination.", nameof(request));
        }

        var options = _options.CurrentValue;
        var key = EntryKey(request.Purpose, request.Address);
        var now = _time.GetUtcNow();
        var wording = Wording.Of(request.Culture, request.WebOtpHost, options);
        cancellationToken.ThrowIfCancellationRequested();

        // The per-client limit and the entry live under different keys (on Redis, different hash
        // slots): when the client check cannot answer at once, the create goes out beside it, so a
        // start costs one round trip's latency, and is undone if the client turns out refused.
        var clientGate = ClientGateAsync(request.Purpose, request.ClientKey, now, options);
        var clientPending = !clientGate.IsCompleted;
        if (!clientPending && clientGate.Result is { } refusedClient)
        {
            return refusedClient;
        }

        var code = _generator.Generate(options.Code.Length);
        var hash = _hasher.Hash(request.Purpose, key.Address, code);
        if (request.Decoy)
        {
            // A hash no code has: the decoy can be guessed at, and counts attempts, but never
            // verifies. It keeps a protected code like a real entry, so its resends behave alike.
            hash = OtpRandom.GetBytes(hash.Length);
        }

        var protectedCode = _codes.Protect(request.Purpose, key.Address, code);

        var flowId = NewFlowId();
        var registration = new PendingRegistration
        {
            Key = key,
            FlowId = BoundFlow(flowId, request.Address),
            CodeHash = hash,
            ProtectedCode = protectedCode,
            CodeExpiresAt = now + options.Code.Lifetime,
            ExpiresAt = now + options.PendingLifetime,
            AttemptsLeft = options.Code.MaxAttempts,
            // Kept as one array (a list is two objects: the GC promotes and marks every object an
            // entry holds for as long as it is pending); a caller's list is copied into one.
            Destinations = request.Destinations as OtpDestination[] ?? request.Destinations.ToArray(),
            DeliveredTo = request.Destinations[0],
            DeviceId = string.IsNullOrEmpty(request.DeviceId) ? null : request.DeviceId,
            Decoy = request.Decoy,
            Payload = request.Decoy ? [] : request.Payload,
        };

        SendGateResult gate = default;
        OtpStoreUnavailableException? createFault = null;
        try
        {
            gate = await _store.CreateOrReplaceAsync(registration, Policy(options), now, cancellationToken).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            createFault = ex;
        }

        if (clientPending && await clientGate.ConfigureAwait(false) is { } refused)
        {
            // A refused client leaves no entry: the create that went out beside the check is undone
            // (the entry it replaced comes back and the address's send slot is given back). A create
            // that failed or was refused took nothing; the client's own slot, as in any order of
            // the two checks, stays taken when the client was allowed.
            if (createFault is null && gate.Status == SendGateStatus.Allowed)
            {
                await CompensateAsync(key, hash).ConfigureAwait(false);
            }

            return refused;
        }

        if (createFault is not null)
        {
            Log.StoreUnavailable(_logger, "start", createFault.GetType().Name, createFault.Message);
            return Unavailable(request.Purpose);
        }

        if (gate.Status != SendGateStatus.Allowed)
        {
            return Refused(request.Purpose, key, gate);
        }

        if (request.Decoy)
        {
            return Accepted(options, flowId);
        }

        if (DeliversAfterAnswering(request.Purpose, options))
        {
            DeliverLater(key, hash, code, registration.Destinations, options, now, options.Code.Lifetime, isRepeat: false, wording);
            return Accepted(options, flowId);
        }

        // From here on the caller's cancellation is ignored: the entry and the message must agree.
        var delivery = await DeliverAsync(key, hash, code, registration.Destinations, options, now, options.Code.Lifetime, isRepeat: false, wording).ConfigureAwait(false);
        if (delivery.Delivered)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                Log.Started(_logger, OtpNames.Purpose(request.Purpose), OtpAddress.Mask(request.Address));
            }

            return Accepted(options, flowId);
        }

        // Nothing arrived: the entry goes back to what it was (the flow it replaced, or nothing);
        // for reset and sign-in it stays, holding a code nobody has, exactly like a decoy.
        if (!ConcealsAccounts(request.Purpose))
        {
            await CompensateAsync(key, delivery.Hash).ConfigureAwait(false);
        }

        return Undelivered(request.Purpose, key, delivery, options, flowId);
    }

    /// <summary>
    /// Sends a new code for a pending entry: the previous code stops working and the attempt
    /// counter starts again, once the new code was delivered; a resend that cannot be delivered
    /// leaves the previous code, its attempts left and its expiry as they were (for password reset
    /// and sign-in the undelivered send stands instead, as a decoy's would). An address with
    /// nothing pending gets the same answer, and nothing is sent. The flow id does not change.
    /// </summary>
    /// <param name="purpose">The purpose.</param>
    /// <param name="address">The normalised address.</param>
    /// <param name="clientKey">The client asking (its IP address, say), for the per-client send limit; <see langword="null"/> to skip it.</param>
    /// <param name="cancellationToken">Cancels the call before anything is written.</param>
    /// <returns>Accepted, TooFrequent, RateLimited or Unavailable.</returns>
    public ValueTask<OtpSendResult> ResendAsync(OtpPurpose purpose, string address, string? clientKey = null, CancellationToken cancellationToken = default)
        => ResendAsync(new OtpResendRequest { Purpose = purpose, Address = address, ClientKey = clientKey }, cancellationToken);

    /// <summary>
    /// Resends (see <see cref="ResendAsync(OtpPurpose, string, string?, CancellationToken)"/>),
    /// worded in the request's culture, with its WebOTP host.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call before anything is written.</param>
    /// <returns>Accepted, TooFrequent, RateLimited or Unavailable.</returns>
    public async ValueTask<OtpSendResult> ResendAsync(OtpResendRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var activity = OtpTracing.StartEngine("resend", request.Purpose);
        var result = await ResendCoreAsync(request.Purpose, request.Address, request.ClientKey, Wording.Of(request.Culture, request.WebOtpHost, _options.CurrentValue), cancellationToken).ConfigureAwait(false);
        OtpTracing.Finish(activity, result.Outcome);
        return result;
    }

    private async ValueTask<OtpSendResult> ResendCoreAsync(OtpPurpose purpose, string address, string? clientKey, Wording wording, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var options = _options.CurrentValue;
        var key = EntryKey(purpose, address);
        var now = _time.GetUtcNow();
        cancellationToken.ThrowIfCancellationRequested();
        if (await ClientGateAsync(purpose, clientKey, now, options).ConfigureAwait(false) is { } refusedClient)
        {
            return refusedClient;
        }

        var code = _generator.Generate(options.Code.Length);
        var hash = _hasher.Hash(purpose, key.Address, code);
        var offer = new ResendCode
        {
            CodeHash = hash,
            ProtectedCode = _codes.Protect(purpose, key.Address, code),
            CodeExpiresAt = now + options.Code.Lifetime,
            MaxAttempts = options.Code.MaxAttempts,
            ReuseWhileRemaining = options.Resend.Strategy == OtpResendStrategy.SameCode ? options.Code.Lifetime * options.Resend.SameCodeWhileRemaining : null,
        };

        SendGateResult gate;
        try
        {
            gate = await _store.ResendAsync(key, offer, Policy(options), now, cancellationToken).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, "resend", ex.GetType().Name, ex.Message);
            return Unavailable(purpose);
        }

        if (gate.Status == SendGateStatus.NotFound)
        {
            return Accepted(options);
        }

        if (gate.Status != SendGateStatus.Allowed || gate.Registration is not { } registration)
        {
            return Refused(purpose, key, gate);
        }

        var lifetime = registration.CodeExpiresAt - now;
        if (registration.Decoy)
        {
            return Accepted(options, lifetime: lifetime);
        }

        // The store kept the current code (same-code resend): send that one again, first to the
        // destination it went to, which is the one its right entry proves.
        var destinations = registration.Destinations;
        var isRepeat = !CryptographicOperations.FixedTimeEquals(registration.CodeHash, hash);
        if (isRepeat)
        {
            if (registration.ProtectedCode is not null && _codes.TryUnprotect(purpose, key.Address, registration.ProtectedCode, out var current))
            {
                code = current;
                hash = registration.CodeHash;
                destinations = [registration.DeliveredTo, .. registration.Destinations.Where(d => d != registration.DeliveredTo)];
            }
            else
            {
                // The kept code cannot be read here (a key rotated away, a key ring not shared):
                // undo this send and make it a new code instead.
                Log.StoreUnavailable(_logger, "resend", nameof(System.Security.Cryptography.CryptographicException), "the kept code cannot be decrypted; a new code is sent");
                await CompensateAsync(key, registration.CodeHash).ConfigureAwait(false);
                try
                {
                    gate = await _store.ResendAsync(key, offer with { ReuseWhileRemaining = null }, Policy(options), now, CancellationToken.None).ConfigureAwait(false);
                }
                catch (OtpStoreUnavailableException ex)
                {
                    Log.StoreUnavailable(_logger, "resend", ex.GetType().Name, ex.Message);
                    return Unavailable(purpose);
                }

                if (gate.Status != SendGateStatus.Allowed || gate.Registration is null)
                {
                    return Refused(purpose, key, gate);
                }

                registration = gate.Registration;
                lifetime = registration.CodeExpiresAt - now;
                isRepeat = false;
            }
        }

        if (DeliversAfterAnswering(purpose, options))
        {
            DeliverLater(key, hash, code, destinations, options, now, lifetime, isRepeat, wording);
            return Accepted(options, lifetime: lifetime);
        }

        var delivery = await DeliverAsync(key, hash, code, destinations, options, now, lifetime, isRepeat, wording).ConfigureAwait(false);
        if (delivery.Delivered)
        {
            return Accepted(options, lifetime: lifetime);
        }

        // The previous code comes back with the attempts it had left: a failed resend refills nothing.
        // Reset and sign-in keep the send (its slot counted, like a decoy's resend), so an outage
        // does not tell a registered address from an unknown one; the guesses stay bounded by
        // MaxAttempts x MaxPerHour because the slot is not given back.
        if (!ConcealsAccounts(purpose))
        {
            await CompensateAsync(key, delivery.Hash).ConfigureAwait(false);
        }

        return Undelivered(purpose, key, delivery, options, flowId: null, lifetime);
    }

    /// <summary>
    /// Verifies a code for a flow and, when it is right and in time, consumes the pending entry (a
    /// code works once). The attempt is counted before the comparison, in the store, atomically.
    /// Once the call reaches the store it runs to the end whatever the caller's cancellation: a
    /// consumed entry must reach the caller, or it is lost.
    /// </summary>
    /// <param name="purpose">The purpose.</param>
    /// <param name="address">The normalised address.</param>
    /// <param name="flowId">The flow id start answered.</param>
    /// <param name="code">The code as typed.</param>
    /// <param name="deviceId">The device offering the code, if the client sent one.</param>
    /// <param name="cancellationToken">Cancels the call before the store is reached.</param>
    /// <returns>Verified with the consumed entry, or the refusal.</returns>
    public async ValueTask<OtpVerifyResult> VerifyAsync(OtpPurpose purpose, string address, string flowId, string code, string? deviceId, CancellationToken cancellationToken = default)
    {
        using var activity = OtpTracing.StartEngine("verify", purpose);
        var result = await VerifyCoreAsync(purpose, address, flowId, code, deviceId, cancellationToken).ConfigureAwait(false);
        OtpTracing.Finish(activity, result.Outcome);
        return result;
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<OtpVerifyResult> VerifyCoreAsync(OtpPurpose purpose, string address, string flowId, string code, string? deviceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        ArgumentNullException.ThrowIfNull(flowId);
        ArgumentNullException.ThrowIfNull(code);
        cancellationToken.ThrowIfCancellationRequested();
        var key = EntryKey(purpose, address);
        // The current key's hash and, during a rotation, the previous key's: one store call, one attempt.
        var hashes = _hasher.HashCandidates(purpose, key.Address, code);
        StoreVerifyResult result;
        try
        {
            result = await _store.VerifyAndConsumeAsync(key, BoundFlow(flowId, address), hashes, string.IsNullOrEmpty(deviceId) ? null : deviceId, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, "verify", ex.GetType().Name, ex.Message);
            _metrics.Verified(purpose, OtpOutcome.Unavailable);
            return new OtpVerifyResult { Outcome = OtpOutcome.Unavailable };
        }

        var answer = result.Status switch
        {
            StoreVerifyStatus.Success => new OtpVerifyResult { Outcome = OtpOutcome.Verified, Registration = result.Registration is { } verified ? new OtpVerifiedRegistration(verified) : null },
            StoreVerifyStatus.Invalid => new OtpVerifyResult { Outcome = OtpOutcome.InvalidCode, AttemptsRemaining = Math.Max(0, result.AttemptsLeft) },
            StoreVerifyStatus.Expired => new OtpVerifyResult { Outcome = OtpOutcome.CodeExpired },
            StoreVerifyStatus.MaxAttempts => new OtpVerifyResult { Outcome = OtpOutcome.MaxAttempts },
            StoreVerifyStatus.DeviceMismatch => new OtpVerifyResult { Outcome = OtpOutcome.DeviceMismatch },
            _ => new OtpVerifyResult { Outcome = OtpOutcome.FlowExpired },
        };
        _metrics.Verified(purpose, answer.Outcome);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            // The masked address is built only for a log that is written.
            Log.VerifyOutcome(_logger, OtpNames.Purpose(purpose), OtpAddress.Mask(address), OtpMetrics.OutcomeName(answer.Outcome));
        }

        return answer;
    }

    /// <summary>
    /// Puts a consumed entry back when the step after verification failed for a reason that is
    /// not the user's (the user database was down), so the user can retry with the same code and
    /// flow. An entry started again meanwhile is left alone.
    /// </summary>
    /// <param name="registration">The registration returned by a successful verify (<see cref="OtpVerifyResult.Registration"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the entry was restored.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="registration"/> is <see langword="null"/>.</exception>
    public async ValueTask<bool> RestoreAsync(OtpVerifiedRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        try
        {
            var entry = registration.Entry;
            var restore = entry with { AttemptsLeft = Math.Max(1, entry.AttemptsLeft) };
            return await _store.PutBackAsync(restore, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, "restore", ex.GetType().Name, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The key an entry is stored under: an email's canonical mailbox (<see cref="OtpAddress.CanonicalMailbox"/>),
    /// so the aliases of one mailbox share one entry and one set of limits; a phone as it is. The
    /// address as typed stays the destination and the address the completion sees.
    /// </summary>
    private static PendingKey EntryKey(OtpPurpose purpose, string address) => new(purpose, OtpAddress.CanonicalMailbox(address));

    /// <summary>
    /// What the store keeps of a flow: its id bound to the exact address it was started for. An
    /// entry is found by its canonical mailbox, so another alias of it reaches the same entry; a
    /// verify for any address but the one started (the one the code went to) is then a flow
    /// mismatch, refused before anything is evaluated.
    /// </summary>
    private static string BoundFlow(string flowId, string address) => string.Concat(flowId, "|", address);

    /// <summary>A new flow id: 128 random bits, base64url.</summary>
    private static string NewFlowId()
    {
        Span<byte> bytes = stackalloc byte[16];
        OtpRandom.Fill(bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    /// <summary>Purposes that answer alike for registered and unknown addresses, down to a sender outage (password reset, sign-in).</summary>
    private static bool ConcealsAccounts(OtpPurpose purpose) => purpose is OtpPurpose.PasswordReset or OtpPurpose.SignIn;

    /// <summary>
    /// Reset and sign-in answer before the message goes out (<see cref="OtpAbuseOptions.EqualizeResponseTimes"/>):
    /// an unknown address has a decoy and nothing to send, so an answer that waited for a sender
    /// would take longer for registered addresses. Without a thread ever blocked, the answer is
    /// the same work for both: the store call.
    /// </summary>
    private static bool DeliversAfterAnswering(OtpPurpose purpose, OtpVerificationOptions options)
        => ConcealsAccounts(purpose) && options.Abuse.EqualizeResponseTimes;

    /// <summary>
    /// Completes when every code being delivered after its answer has been handed to its sender,
    /// or has failed and its send was undone. The host waits for it when it stops; tests use it to
    /// read a message the answer did not wait for.
    /// </summary>
    /// <returns>A task that completes when no delivery is in flight.</returns>
    public Task WhenDeliveredAsync() => Task.WhenAll(_deliveriesInFlight.Keys);

    private void DeliverLater(PendingKey key, byte[] hash, string code, IReadOnlyList<OtpDestination> destinations, OtpVerificationOptions options, DateTimeOffset now, TimeSpan lifetime, bool isRepeat, Wording wording)
    {
        var delivery = Task.Run(async () =>
        {
            try
            {
                // An undelivered code stands, as a decoy's would (see ResendAsync): nobody has it,
                // its send slot stays counted, and the user asks again.
                // The wording (culture, WebOTP host) was captured with the request: this runs on another thread, after the answer.
                await DeliverAsync(key, hash, code, destinations, options, now, lifetime, isRepeat, wording).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Nothing awaits this task: a fault must be logged here or it is lost.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.StoreUnavailable(_logger, "deliver-later", ex.GetType().Name, "the delivery after the answer failed");
            }
        });
        _deliveriesInFlight.TryAdd(delivery, 0);
        _ = delivery.ContinueWith(static (done, state) => ((System.Collections.Concurrent.ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _), _deliveriesInFlight, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// The answer to a start or resend from <paramref name="clientKey"/> when this instance already
    /// knows that client's hourly limit is used up (the store refused it, and the retry time it gave
    /// has not passed), so an endpoint can refuse a flood before reading or validating the request:
    /// the same <see cref="OtpOutcome.RateLimited"/> answer the start would give, with no store call.
    /// <see langword="null"/> when the client is not known to be refused (then start as usual; the
    /// store decides).
    /// </summary>
    /// <param name="purpose">The purpose of the start or resend.</param>
    /// <param name="clientKey">The client's key (<see cref="OtpStartRequest.ClientKey"/>).</param>
    /// <returns>The refusal, or <see langword="null"/>.</returns>
    public OtpSendResult? KnownClientRefusal(OtpPurpose purpose, string? clientKey)
    {
        var max = _options.CurrentValue.Abuse.MaxSendsPerClientPerHour;
        if (string.IsNullOrEmpty(clientKey) || max <= 0 || !_refusedClients.IsRefused(clientKey, max, _time.GetUtcNow(), out var stillRefused))
        {
            return null;
        }

        return Refused(purpose, new PendingKey(OtpPurpose.Signup, "client:" + clientKey), new SendGateResult(SendGateStatus.RateLimited, stillRefused));
    }

    /// <summary>The per-client send limit: one store operation on the client's own key, shared by every purpose.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<OtpSendResult?> ClientGateAsync(OtpPurpose purpose, string? clientKey, DateTimeOffset now, OtpVerificationOptions options)
    {
        var max = options.Abuse.MaxSendsPerClientPerHour;
        if (string.IsNullOrEmpty(clientKey) || max <= 0)
        {
            return null;
        }

        var key = new PendingKey(OtpPurpose.Signup, "client:" + clientKey);
        SendGateResult gate;
        if (_refusedClients.IsRefused(clientKey, max, now, out var stillRefused))
        {
            // What the store would answer (see RefusedClients), without asking it. The warning
            // was logged when the store refused this client: a flood writes no log line per request.
            gate = new SendGateResult(SendGateStatus.RateLimited, stillRefused);
            return Refused(purpose, key, gate);
        }

        try
        {
            gate = await _store.ReserveSendAsync(key, new SendPolicy(TimeSpan.Zero, max, SendWindow), now).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, "client-limit", ex.GetType().Name, ex.Message);
            return Unavailable(purpose);
        }

        if (gate.Status == SendGateStatus.Allowed)
        {
            return null;
        }

        if (gate.Status is SendGateStatus.RateLimited or SendGateStatus.TooFrequent)
        {
            _refusedClients.Remember(clientKey, max, now, gate.RetryAfter);
        }

        Log.ClientLimited(_logger, OtpNames.Purpose(purpose));
        return Refused(purpose, key, gate with { Status = gate.Status == SendGateStatus.TooFrequent ? SendGateStatus.RateLimited : gate.Status });
    }

    /// <summary>
    /// The limits of one destination beyond its entry's own: a phone number (whatever email the
    /// entry is keyed by) and a mailbox (whatever alias of it was typed) get no more codes than
    /// one address, so rotating emails or aliases cannot pump one phone or mailbox.
    /// </summary>
    private async ValueTask<SendGateResult> DestinationGateAsync(PendingKey entry, OtpDestination destination, DateTimeOffset now, OtpVerificationOptions options)
    {
        var limitAddress = destination.Channel == OtpChannel.Sms ? destination.Address : OtpAddress.CanonicalMailbox(destination.Address);

        // Phone verification texts a code to any number, as SMS signup does, and its proof opens
        // the same thing (an account on the phone): the two share the phone's allowance, or a
        // number would get twice the texts, and a squatter twice the guesses, in an hour.
        var limitPurpose = entry.Purpose == OtpPurpose.PhoneVerification && destination.Channel == OtpChannel.Sms ? OtpPurpose.Signup : entry.Purpose;
        if (limitPurpose == entry.Purpose && string.Equals(limitAddress, entry.Address, StringComparison.Ordinal))
        {
            // The entry's own limits are this destination's.
            return SendGateResult.Allowed;
        }

        // The limit record of the entry keyed by this phone or mailbox itself: an entry for the
        // mailbox (or phone) and every alias (or email) sending to it share one allowance.
        return await _store.ReserveSendAsync(new PendingKey(limitPurpose, limitAddress), Policy(options), now).ConfigureAwait(false);
    }

    /// <summary>Whether an SMS may go to <paramref name="phone"/>: the country allow-list and the app-wide hourly SMS budget.</summary>
    private async ValueTask<bool> SmsAllowedAsync(string phone, DateTimeOffset now, OtpVerificationOptions options)
    {
        if (!_phones.AllowsSms(phone))
        {
            Log.SmsCountryRefused(_logger, OtpAddress.Mask(phone));
            return false;
        }

        var max = options.Abuse.MaxSmsPerHour;
        if (max <= 0)
        {
            return true;
        }

        var gate = await _store.ReserveSendAsync(SmsBudgetKey, new SendPolicy(TimeSpan.Zero, max, SendWindow), now).ConfigureAwait(false);
        if (gate.Status == SendGateStatus.Allowed)
        {
            return true;
        }

        Log.SmsBudgetExhausted(_logger, max);
        return false;
    }

    private static SendPolicy Policy(OtpVerificationOptions options) => new(options.Resend.Cooldown, options.Resend.MaxPerHour, SendWindow);

    private static OtpSendResult Accepted(OtpVerificationOptions options, string? flowId = null, TimeSpan? lifetime = null)
        => new() { Outcome = OtpOutcome.Accepted, ExpiresIn = lifetime ?? options.Code.Lifetime, ResendAfter = options.Resend.Cooldown, FlowId = flowId };

    /// <summary>The answer when no destination took the code (the entry is already put back).</summary>
    private OtpSendResult Undelivered(OtpPurpose purpose, PendingKey key, Delivery delivery, OtpVerificationOptions options, string? flowId, TimeSpan? lifetime = null)
    {
        if (ConcealsAccounts(purpose))
        {
            // Reset and sign-in answer 202 for unknown addresses, which send nothing: an outage
            // must not tell the two apart. The user asks again.
            return Accepted(options, flowId, lifetime);
        }

        return delivery.Limited is { } limited ? Refused(purpose, key, limited) : Unavailable(purpose);
    }

    private OtpSendResult Refused(OtpPurpose purpose, PendingKey key, SendGateResult gate)
    {
        var outcome = gate.Status switch
        {
            SendGateStatus.TooFrequent => OtpOutcome.TooFrequent,
            SendGateStatus.RateLimited => OtpOutcome.RateLimited,
            _ => OtpOutcome.Unavailable,
        };
        if (gate.Status == SendGateStatus.CapacityExceeded)
        {
            // Counted each time, logged at most once a minute: a flood must not flood the log too.
            _metrics.CapacityRefused(purpose);
            if (_capacityReport.Add(1, _time.GetUtcNow(), out var refused))
            {
                Log.StoreFull(_logger, refused);
            }
        }

        _metrics.SendRefused(purpose, outcome);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            Log.SendRefused(_logger, OtpNames.Purpose(purpose), OtpAddress.Mask(key.Address), OtpMetrics.OutcomeName(outcome));
        }

        var retry = gate.RetryAfter > TimeSpan.Zero ? gate.RetryAfter : TimeSpan.FromSeconds(1);
        return new OtpSendResult { Outcome = outcome, ResendAfter = retry, RetryAfter = retry };
    }

    private OtpSendResult Unavailable(OtpPurpose purpose)
    {
        _metrics.SendRefused(purpose, OtpOutcome.Unavailable);
        return new OtpSendResult { Outcome = OtpOutcome.Unavailable };
    }

    /// <summary>
    /// Sends the code to the first destination that takes it. The entry records the first
    /// destination; before a fallback gets a code, the entry is moved to a new code for that
    /// destination (<see cref="IPendingRegistrationStore.RedirectAsync(PendingKey, byte[], byte[], byte[], OtpDestination, CancellationToken)"/>), so a right code only
    /// ever proves the address that received it.
    /// </summary>
    private async ValueTask<Delivery> DeliverAsync(PendingKey key, byte[] hash, string code, IReadOnlyList<OtpDestination> destinations, OtpVerificationOptions options, DateTimeOffset now, TimeSpan lifetime, bool isRepeat, Wording wording)
    {
        SendGateResult? limited = null;
        for (var i = 0; i < destinations.Count; i++)
        {
            var destination = destinations[i];
            var sender = (int)destination.Channel < _senders.Length ? _senders[(int)destination.Channel] : null;
            if (sender is null)
            {
                Log.NoSender(_logger, OtpNames.Channel(destination.Channel));
                continue;
            }

            try
            {
                var gate = await DestinationGateAsync(key, destination, now, options).ConfigureAwait(false);
                if (gate.Status != SendGateStatus.Allowed)
                {
                    limited ??= gate;
                    continue;
                }

                if (destination.Channel == OtpChannel.Sms && !await SmsAllowedAsync(destination.Address, now, options).ConfigureAwait(false))
                {
                    continue;
                }

                if (i > 0)
                {
                    // A fallback gets a code of its own; the one meant for the destination that failed stops working.
                    var fallbackCode = _generator.Generate(options.Code.Length);
                    var fallbackHash = _hasher.Hash(key.Purpose, key.Address, fallbackCode);
                    if (!await _store.RedirectAsync(key, hash, fallbackHash, _codes.Protect(key.Purpose, key.Address, fallbackCode), destination).ConfigureAwait(false))
                    {
                        // Started again meanwhile: that send is the one that counts.
                        return new Delivery(false, hash, null);
                    }

                    hash = fallbackHash;
                    code = fallbackCode;
                    isRepeat = false;
                }
            }
            catch (OtpStoreUnavailableException ex)
            {
                Log.StoreUnavailable(_logger, "deliver", ex.GetType().Name, ex.Message);
                return new Delivery(false, hash, null);
            }

            var message = new OtpMessage
            {
                To = destination.Address,
                Channel = destination.Channel,
                Purpose = key.Purpose,
                Code = code,
                IsRepeat = isRepeat,
                ExpiresIn = lifetime,
                SentAt = now,
                Culture = wording.Culture,
                WebOtpHost = destination.Channel == OtpChannel.Sms ? wording.WebOtpHost : null,
                AppName = options.Messages.AppName,
            };

            try
            {
                await sender.SendAsync(message, CancellationToken.None).ConfigureAwait(false);
                _metrics.CodeSent(key.Purpose, destination.Channel);
                return new Delivery(true, hash, null);
            }
#pragma warning disable CA1031 // Any sender fault means "try the next channel"; the exception text is not logged, it may quote the message.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _metrics.DeliveryFailed(destination.Channel);
                Log.DeliveryFailed(_logger, OtpNames.Channel(destination.Channel), OtpAddress.Mask(destination.Address), ex.GetType().Name);
            }
        }

        return new Delivery(false, hash, limited);
    }

    private async ValueTask CompensateAsync(PendingKey key, byte[] hash)
    {
        try
        {
            await _store.CancelSendAsync(key, hash, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OtpStoreUnavailableException ex)
        {
            // The entry carries a code nobody received; it expires with its lifetime.
            Log.StoreUnavailable(_logger, "cancel", ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>How a message is worded, fixed when the code is asked for: its culture and the host of its WebOTP line.</summary>
    private readonly record struct Wording(System.Globalization.CultureInfo Culture, string? WebOtpHost)
    {
        public static Wording Of(System.Globalization.CultureInfo? culture, string? webOtpHost, OtpVerificationOptions options)
            => new(culture ?? OtpCultures.Get(options.Messages.Culture), options.Messages.WebOtpHost ?? (OtpWebOtp.IsValidHost(webOtpHost) ? webOtpHost : null));
    }

    /// <summary>The outcome of <see cref="DeliverAsync"/>: whether a destination took the code, the hash the entry now carries, and the limit that kept a destination out, if any.</summary>
    private readonly record struct Delivery(bool Delivered, byte[] Hash, SendGateResult? Limited);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, EventName = "OtpStarted", Level = LogLevel.Information, Message = "Code sent for {Purpose} to {MaskedAddress}.")]
        public static partial void Started(ILogger logger, string purpose, string maskedAddress);

        [LoggerMessage(EventId = 1002, EventName = "OtpSendRefused", Level = LogLevel.Information, Message = "Send for {Purpose} to {MaskedAddress} refused: {Outcome}.")]
        public static partial void SendRefused(ILogger logger, string purpose, string maskedAddress, string outcome);

        [LoggerMessage(EventId = 1003, EventName = "OtpVerifyOutcome", Level = LogLevel.Information, Message = "Verify for {Purpose} at {MaskedAddress}: {Outcome}.")]
        public static partial void VerifyOutcome(ILogger logger, string purpose, string maskedAddress, string outcome);

        [LoggerMessage(EventId = 1004, EventName = "OtpDeliveryFailed", Level = LogLevel.Warning, Message = "Delivery by {Channel} to {MaskedAddress} failed ({ExceptionType}); trying the next destination if there is one.")]
        public static partial void DeliveryFailed(ILogger logger, string channel, string maskedAddress, string exceptionType);

        [LoggerMessage(EventId = 1005, EventName = "OtpNoSender", Level = LogLevel.Warning, Message = "No sender is registered for the {Channel} channel.")]
        public static partial void NoSender(ILogger logger, string channel);

        [LoggerMessage(EventId = 1006, EventName = "OtpStoreUnavailable", Level = LogLevel.Error, Message = "The pending-registration store failed during {Operation} ({ExceptionType}: {Reason}).")]
        public static partial void StoreUnavailable(ILogger logger, string operation, string exceptionType, string reason);

        [LoggerMessage(EventId = 1008, EventName = "OtpClientLimited", Level = LogLevel.Warning, Message = "A client reached its hourly send limit ({Purpose}).")]
        public static partial void ClientLimited(ILogger logger, string purpose);

        [LoggerMessage(EventId = 1009, EventName = "OtpSmsCountryRefused", Level = LogLevel.Warning, Message = "SMS to {MaskedAddress} skipped: its region or number type is not allowed (OtpSignup:Abuse:SmsRegions, SmsNumberTypes, SmsCountryCodes).")]
        public static partial void SmsCountryRefused(ILogger logger, string maskedAddress);

        [LoggerMessage(EventId = 1010, EventName = "OtpSmsBudgetExhausted", Level = LogLevel.Warning, Message = "SMS skipped: the app-wide budget of {MaxSmsPerHour} per hour is used up (OtpSignup:Abuse:MaxSmsPerHour).")]
        public static partial void SmsBudgetExhausted(ILogger logger, int maxSmsPerHour);

        [LoggerMessage(EventId = 1007, EventName = "OtpStoreFull", Level = LogLevel.Warning, Message = "The pending-registration store is full: {Refused} sends refused (503) since the last report. In memory: OtpSignup:MaxLimitRecords is reached (raise it, or use a distributed store); on Redis: maxmemory is reached (raise it).")]
        public static partial void StoreFull(ILogger logger, long refused);
    }
}
