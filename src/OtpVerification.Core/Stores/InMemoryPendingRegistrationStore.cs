using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OtpVerification.Diagnostics;

namespace OtpVerification.Stores;

/// <summary>
/// A pending-registration store in this process's memory, for a single app instance. Each
/// operation is atomic per key (a lock per entry, none across entries). Send limits are rolling:
/// every send inside the last window counts, whenever in it it was made.
/// </summary>
/// <remarks>
/// <para>
/// Two bounds, so that a flood of bot starts cannot lock people out:
/// </para>
/// <list type="bullet">
/// <item><description>
/// <b>Payloads</b> (the registrations, and the one a send replaced, kept for undo) are at most
/// <see cref="OtpVerificationOptions.MaxPendingEntries"/>. When a new one would pass it, the registration
/// nearest its expiry (the oldest, as a rule) is <b>evicted</b>: its flow then answers
/// <see cref="StoreVerifyStatus.NotFound"/> (<c>flow_expired</c>) and its owner starts again.
/// </description></item>
/// <item><description>
/// <b>Limit records</b> (one per key: the send history of an address, of a client, of a phone
/// number, of the SMS budget; a registration lives in its key's record) are at most
/// <see cref="OtpVerificationOptions.MaxLimitRecords"/>, and are never evicted while a send in them
/// still counts: evicting a registration keeps its key's send history, so a restart after an
/// eviction takes a send slot like any restart (cooldown and hourly limit), and an address never
/// gets more codes, nor more guesses (<c>MaxAttempts</c> per code sent), than its limits allow. The
/// evicted code's attempts left are simply lost with it: nobody can guess at a code that is gone.
/// Only when the limit records are full is a new key refused (<see cref="SendGateStatus.CapacityExceeded"/>).
/// </description></item>
/// </list>
/// <para>
/// Expired entries are swept a few at a time from queues ordered by expiry, never by scanning the
/// whole store. Evictions are counted (<c>otp_verification.store.evictions</c>) and logged as a
/// warning at most once a minute.
/// </para>
/// </remarks>
public sealed partial class InMemoryPendingRegistrationStore : IPendingRegistrationStore
{
    private const int SweepBudget = 16;
    private static readonly TimeSpan ScheduleSlack = TimeSpan.FromMinutes(1);

    // Writers (a new address, a new client) take one of the dictionary's stripe locks; its default,
    // one per processor, makes concurrent starts queue on each other.
    private readonly ConcurrentDictionary<PendingKey, Slot> _slots = new(Math.Max(64, Environment.ProcessorCount * 16), 1024);
    private readonly ConcurrentQueue<(PendingKey Key, long Ticks)> _scheduled = new();
    private readonly PriorityQueue<PendingKey, long> _expiries = new();
    private readonly Lock _sweepLock = new();
    private readonly ConcurrentQueue<(PendingKey Key, long Ticks, long Order)> _payloadScheduled = new();
    private readonly PriorityQueue<PendingKey, (long Ticks, long Order)> _payloadExpiries = new();
    private readonly Lock _evictLock = new();
    private readonly int _maxPayloads;
    private readonly int _maxRecords;
    private readonly TimeProvider _time;
    private readonly OtpMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly RateLimitedReport _evictionReport = new();
    private int _count;
    private int _payloads;
    private long _evictedTotal;
    private long _payloadOrder;

    /// <summary>Creates a store bounded by <see cref="OtpVerificationOptions.MaxPendingEntries"/> and <see cref="OtpVerificationOptions.MaxLimitRecords"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time.</param>
    public InMemoryPendingRegistrationStore(IOptions<OtpVerificationOptions> options, TimeProvider timeProvider)
        : this(options, timeProvider, null!, null!)
    {
    }

    /// <summary>Creates a store bounded by <see cref="OtpVerificationOptions.MaxPendingEntries"/> and <see cref="OtpVerificationOptions.MaxLimitRecords"/>, reporting evictions.</summary>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time.</param>
    /// <param name="metrics">Where evictions are counted.</param>
    /// <param name="logger">Where evictions are reported (a warning at most once a minute).</param>
    public InMemoryPendingRegistrationStore(IOptions<OtpVerificationOptions> options, TimeProvider timeProvider, OtpMetrics metrics, ILogger<InMemoryPendingRegistrationStore> logger)
        : this(
            options?.Value.MaxPendingEntries ?? throw new ArgumentNullException(nameof(options)),
            options.Value.LimitRecordsCap,
            timeProvider,
            metrics,
            logger)
    {
    }

    /// <summary>Creates a store holding at most <paramref name="capacity"/> pending registrations and <see cref="OtpVerificationOptions.LimitRecordsPerPendingEntry"/> times as many limit records.</summary>
    /// <param name="capacity">The cap on pending registrations.</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time; <see cref="TimeProvider.System"/> when null.</param>
    public InMemoryPendingRegistrationStore(int capacity, TimeProvider? timeProvider = null)
        : this(capacity, (int)Math.Min(int.MaxValue, (long)capacity * OtpVerificationOptions.LimitRecordsPerPendingEntry), timeProvider)
    {
    }

    /// <summary>Creates a store with both bounds given.</summary>
    /// <param name="maxPendingEntries">The cap on pending registrations; past it the one nearest its expiry is evicted.</param>
    /// <param name="maxLimitRecords">The cap on keys (limit records, each holding at most one registration); past it a new key is refused. At least <paramref name="maxPendingEntries"/>.</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="metrics">Where evictions are counted; none when null.</param>
    /// <param name="logger">Where evictions are reported; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A cap is below 1, or <paramref name="maxLimitRecords"/> is below <paramref name="maxPendingEntries"/>.</exception>
    public InMemoryPendingRegistrationStore(int maxPendingEntries, int maxLimitRecords, TimeProvider? timeProvider = null, OtpMetrics? metrics = null, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingEntries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLimitRecords, maxPendingEntries);
        _maxPayloads = maxPendingEntries;
        _maxRecords = maxLimitRecords;
        _time = timeProvider ?? TimeProvider.System;
        _metrics = metrics;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The number of keys (limit records) held now, each with or without a registration, expired ones not yet swept included.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The number of keys holding a pending registration (or one a send replaced) now, expired ones not yet swept included.</summary>
    public int PendingCount => Volatile.Read(ref _payloads);

    /// <summary>How many pending registrations were evicted to make room since the store was created.</summary>
    public long EvictedCount => Interlocked.Read(ref _evictedTotal);

    /// <inheritdoc />
    public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(registration.FlowId);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(registration.Key, now, create: true, (registration, policy, now), static (slot, state) =>
        {
            var (registration, policy, now) = state;
            var gate = slot.TakeSendSlot(policy, now);
            if (gate.Status == SendGateStatus.Allowed)
            {
                slot.KeepAsReplaced();
                slot.Store(registration);
                slot.IssuedAttempts = registration.AttemptsLeft;
            }

            return gate;
        }, new SendGateResult(SendGateStatus.CapacityExceeded)));
    }

    /// <inheritdoc />
    public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, now, create: true, slot => slot.TakeSendSlot(policy, now), new SendGateResult(SendGateStatus.CapacityExceeded)));
    }

    /// <inheritdoc />
    public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(code.CodeHash);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, now, create: true, slot =>
        {
            var gate = slot.TakeSendSlot(policy, now);
            if (gate.Status != SendGateStatus.Allowed)
            {
                return gate;
            }

            if (slot.Registration is not { } current)
            {
                return new SendGateResult(SendGateStatus.NotFound);
            }

            slot.KeepAsReplaced();
            if (code.ReuseWhileRemaining is { } remaining && current.ProtectedCode is not null && slot.Attempts > 0 && current.CodeExpiresAt - now >= remaining)
            {
                slot.IssuedAttempts = slot.Attempts;
                // The same code again: its expiry and the attempts it has left stay.
                return new SendGateResult(SendGateStatus.Allowed, Registration: WithAttempts(current, slot.Attempts));
            }

            var updated = current with
            {
                CodeHash = code.CodeHash,
                ProtectedCode = code.ProtectedCode,
                CodeExpiresAt = code.CodeExpiresAt,
                ExpiresAt = code.CodeExpiresAt > current.ExpiresAt ? code.CodeExpiresAt : current.ExpiresAt,
                AttemptsLeft = code.MaxAttempts,
                DeliveredTo = current.Destinations.Count > 0 ? current.Destinations[0] : current.DeliveredTo,
            };
            slot.Store(updated);
            slot.IssuedAttempts = updated.AttemptsLeft;
            return new SendGateResult(SendGateStatus.Allowed, Registration: updated);
        }, new SendGateResult(SendGateStatus.CapacityExceeded)));
    }

    /// <inheritdoc />
    public ValueTask<SendGateResult> ResendAsync(PendingKey key, byte[] codeHash, DateTimeOffset codeExpiresAt, int maxAttempts, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
        => ResendAsync(key, new ResendCode { CodeHash = codeHash, CodeExpiresAt = codeExpiresAt, MaxAttempts = maxAttempts }, policy, now, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, OtpDestination destination, CancellationToken cancellationToken = default)
        => RedirectAsync(key, expectedCodeHash, codeHash, null, destination, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expectedCodeHash);
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, _time.GetUtcNow(), create: false, slot =>
        {
            if (slot.Registration is not { } current || !CryptographicOperations.FixedTimeEquals(current.CodeHash, expectedCodeHash))
            {
                return false;
            }

            slot.Store(current with { CodeHash = codeHash, ProtectedCode = protectedCode, DeliveredTo = destination }, slot.Attempts);
            return true;
        }, false));
    }

    /// <inheritdoc />
    public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flowId);
        ArgumentNullException.ThrowIfNull(codeHashes);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, now, create: false, (flowId, codeHashes, deviceId, now), static (slot, state) =>
        {
            var (flowId, codeHashes, deviceId, now) = state;
            if (slot.Registration is not { } current)
            {
                return new StoreVerifyResult(StoreVerifyStatus.NotFound);
            }

            if (!FlowIdsEqual(current.FlowId, flowId))
            {
                return new StoreVerifyResult(StoreVerifyStatus.FlowMismatch);
            }

            if (current.DeviceId is not null && !string.Equals(current.DeviceId, deviceId, StringComparison.Ordinal))
            {
                return new StoreVerifyResult(StoreVerifyStatus.DeviceMismatch);
            }

            if (slot.Attempts <= 0)
            {
                return new StoreVerifyResult(StoreVerifyStatus.MaxAttempts);
            }

            if (now >= current.CodeExpiresAt)
            {
                return new StoreVerifyResult(StoreVerifyStatus.Expired);
            }

            // The attempt is counted before the comparison.
            var left = slot.Attempts - 1;
            var matched = false;
            for (var i = 0; i < codeHashes.Count; i++)
            {
                matched |= codeHashes[i] is { } hash && CryptographicOperations.FixedTimeEquals(current.CodeHash, hash);
            }

            if (matched && !current.Decoy)
            {
                var verified = WithAttempts(current, slot.Attempts);
                slot.Clear();
                return new StoreVerifyResult(StoreVerifyStatus.Success, left, verified);
            }

            // A wrong guess changes a counter, not the stored registration: no object per guess.
            slot.Attempts = left;
            return new StoreVerifyResult(StoreVerifyStatus.Invalid, left);
        }, new StoreVerifyResult(StoreVerifyStatus.NotFound)));
    }

    /// <inheritdoc />
    public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codeHash);
        cancellationToken.ThrowIfCancellationRequested();
        Update(key, _time.GetUtcNow(), create: false, slot =>
        {
            if (slot.Registration is { } current && CryptographicOperations.FixedTimeEquals(current.CodeHash, codeHash))
            {
                // Guesses made on the undone code while its delivery was failing still count: they
                // come off what is put back, and the send slot is given back only when there were
                // none (or a failing sender would let anyone guess past MaxAttempts x MaxPerHour).
                var guesses = Math.Max(0, slot.IssuedAttempts - slot.Attempts);
                if (guesses == 0)
                {
                    slot.ReleaseSendSlot();
                }

                slot.RestoreReplaced(guesses);
            }

            return true;
        }, false);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(registration.Key, now, create: true, slot =>
        {
            if (slot.Registration is not null || now >= registration.ExpiresAt)
            {
                return false;
            }

            slot.Store(registration);
            return true;
        }, false));
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, _time.GetUtcNow(), create: false, slot =>
        {
            var had = slot.Registration is not null;
            slot.Clear();
            return had;
        }, false));
    }

    /// <inheritdoc />
    /// <exception cref="OtpStoreUnavailableException">The limit records are full (<see cref="OtpVerificationOptions.MaxLimitRecords"/>): a use that cannot be recorded is refused.</exception>
    public ValueTask<bool> ConsumeOnceAsync(PendingKey key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var mark = expiresAt > now ? expiresAt : now + TimeSpan.FromSeconds(1);
        var first = Update(key, now, create: true, slot =>
        {
            if (slot.ConsumedUntilTicks > now.UtcTicks)
            {
                return 0;
            }

            slot.ConsumedUntilTicks = mark.UtcTicks;
            return 1;
        }, -1);
        return first < 0 ? throw new OtpStoreUnavailableException("The in-memory store's limit records are full (OtpSignup:MaxLimitRecords): the use cannot be recorded.") : new(first == 1);
    }

    private static bool FlowIdsEqual(string stored, string offered)
        => stored.Length == offered.Length
           && CryptographicOperations.FixedTimeEquals(System.Runtime.InteropServices.MemoryMarshal.AsBytes(stored.AsSpan()), System.Runtime.InteropServices.MemoryMarshal.AsBytes(offered.AsSpan()));

    private TResult Update<TResult>(PendingKey key, DateTimeOffset now, bool create, Func<Slot, TResult> operation, TResult whenMissing)
        where TResult : notnull
        => Update(key, now, create, operation, static (slot, operation) => operation(slot), whenMissing);

    /// <summary>As above, with the operation's inputs passed as <paramref name="state"/> to a static lambda: no closure per call on the hot paths (start, verify).</summary>
    private TResult Update<TState, TResult>(PendingKey key, DateTimeOffset now, bool create, TState state, Func<Slot, TState, TResult> operation, TResult whenMissing)
        where TResult : notnull
    {
        ArgumentNullException.ThrowIfNull(key.Address);
        Sweep(now, SweepBudget);
        while (true)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                if (!create)
                {
                    return whenMissing;
                }

                if (Interlocked.Increment(ref _count) > _maxRecords)
                {
                    Interlocked.Decrement(ref _count);
                    Sweep(now, int.MaxValue);
                    if (Interlocked.Increment(ref _count) > _maxRecords)
                    {
                        Interlocked.Decrement(ref _count);
                        return whenMissing;
                    }
                }

                slot = new Slot();
                if (!_slots.TryAdd(key, slot))
                {
                    Interlocked.Decrement(ref _count);
                    continue;
                }
            }

            TResult result;
            bool grew;
            lock (slot)
            {
                if (slot.Removed)
                {
                    continue;
                }

                var had = slot.HasPayload;
                slot.DropExpired(now);
                result = operation(slot, state);
                grew = TrackPayload(key, slot, had);
                var expiry = slot.ExpiresAt;
                if (expiry <= now)
                {
                    Remove(key, slot);
                }
                else if (expiry.UtcTicks > slot.ScheduledTicks)
                {
                    // The first time exactly; an extension (another send) a minute past the new
                    // expiry, so a burst of sends to one key (a busy client) leaves one queue entry,
                    // not one per send. The sweep checks the real expiry whenever it comes.
                    var at = slot.ScheduledTicks == 0 ? expiry.UtcTicks : expiry.UtcTicks + ScheduleSlack.Ticks;
                    slot.ScheduledTicks = at;
                    _scheduled.Enqueue((key, at));
                }
            }

            // Outside the entry's lock: eviction locks other entries.
            if (grew && Volatile.Read(ref _payloads) > _maxPayloads)
            {
                TrimPayloads(now, key, int.MaxValue, evict: true);
            }

            return result;
        }
    }

    /// <summary>
    /// Counts a payload that appeared or went, and schedules the slot's payload expiry for eviction
    /// and sweeping (one live queue entry per slot: the one whose ticks the slot holds). Called under the slot's lock.
    /// </summary>
    /// <returns><see langword="true"/> when the slot gained a payload.</returns>
    private bool TrackPayload(PendingKey key, Slot slot, bool had)
    {
        var has = slot.HasPayload;
        if (has != had)
        {
            Interlocked.Add(ref _payloads, has ? 1 : -1);
        }

        if (!has)
        {
            slot.PayloadTicks = 0;
            return false;
        }

        var ticks = slot.PayloadExpiresAt.UtcTicks;
        if (ticks != slot.PayloadTicks)
        {
            slot.PayloadTicks = ticks;
            _payloadScheduled.Enqueue((key, ticks, Interlocked.Increment(ref _payloadOrder)));
        }

        return !had;
    }

    /// <summary>
    /// Drops expired payloads from the front of the payload queue (up to <paramref name="budget"/>
    /// queue entries) and, when <paramref name="evict"/> is set, evicts the payloads nearest their
    /// expiry (of those alike, the first stored) until the count is back at the cap, never <paramref name="keep"/>'s (the one just stored).
    /// </summary>
    private void TrimPayloads(DateTimeOffset now, PendingKey? keep, int budget, bool evict)
    {
        if (evict)
        {
            _evictLock.Enter();
        }
        else if (!_evictLock.TryEnter())
        {
            return;
        }

        long evicted = 0;
        try
        {
            while (_payloadScheduled.TryDequeue(out var item))
            {
                _payloadExpiries.Enqueue(item.Key, (item.Ticks, item.Order));
            }

            var nowTicks = now.UtcTicks;
            List<(PendingKey, (long, long))>? kept = null;
            while (budget-- > 0 && _payloadExpiries.TryPeek(out var key, out var priority))
            {
                var ticks = priority.Ticks;
                var expired = ticks <= nowTicks;
                if (!expired && !(evict && Volatile.Read(ref _payloads) > _maxPayloads))
                {
                    break;
                }

                _payloadExpiries.Dequeue();
                if (keep is { } k && key == k && !expired)
                {
                    (kept ??= []).Add((key, priority));
                    continue;
                }

                if (!_slots.TryGetValue(key, out var slot))
                {
                    continue;
                }

                lock (slot)
                {
                    if (slot.Removed || !slot.HasPayload || slot.PayloadTicks != ticks)
                    {
                        // A stale queue entry: the slot's payload changed since.
                        continue;
                    }

                    if (expired)
                    {
                        slot.DropExpired(now);
                    }
                    else
                    {
                        // The send history stays: a restart takes a send slot like any other.
                        slot.Clear();
                        evicted++;
                    }

                    TrackPayload(key, slot, had: true);
                    if (slot.ExpiresAt <= now)
                    {
                        Remove(key, slot);
                    }
                }
            }

            foreach (var (key, priority) in kept ?? [])
            {
                _payloadExpiries.Enqueue(key, priority);
            }
        }
        finally
        {
            _evictLock.Exit();
        }

        if (evicted > 0)
        {
            ReportEvictions(evicted, now);
        }
    }

    private void ReportEvictions(long evicted, DateTimeOffset now)
    {
        Interlocked.Add(ref _evictedTotal, evicted);
        _metrics?.StoreEvicted(evicted);
        if (_evictionReport.Add(evicted, now, out var report))
        {
            Log.Evicted(_logger, report, _maxPayloads);
        }
    }

    private void Remove(PendingKey key, Slot slot)
    {
        slot.Removed = true;
        if (_slots.TryRemove(new KeyValuePair<PendingKey, Slot>(key, slot)))
        {
            Interlocked.Decrement(ref _count);
            if (slot.HasPayload)
            {
                Interlocked.Decrement(ref _payloads);
            }
        }
    }

    private void Sweep(DateTimeOffset now, int budget)
    {
        if (!_sweepLock.TryEnter())
        {
            return;
        }

        try
        {
            while (_scheduled.TryDequeue(out var item))
            {
                _expiries.Enqueue(item.Key, item.Ticks);
            }

            var nowTicks = now.UtcTicks;
            while (budget-- > 0 && _expiries.TryPeek(out var key, out var ticks) && ticks <= nowTicks)
            {
                _expiries.Dequeue();
                if (!_slots.TryGetValue(key, out var slot))
                {
                    continue;
                }

                lock (slot)
                {
                    if (!slot.Removed && ticks >= slot.ScheduledTicks)
                    {
                        var had = slot.HasPayload;
                        slot.DropExpired(now);
                        TrackPayload(key, slot, had);
                        if (slot.ExpiresAt <= now)
                        {
                            Remove(key, slot);
                        }
                    }
                }
            }
        }
        finally
        {
            _sweepLock.Exit();
        }

        TrimPayloads(now, keep: null, budget, evict: false);
    }

    /// <summary>The registration as it is now: the stored record with the attempts counted in its slot.</summary>
    private static PendingRegistration WithAttempts(PendingRegistration registration, int attempts)
        => registration.AttemptsLeft == attempts ? registration : registration with { AttemptsLeft = attempts };

    private sealed class Slot
    {
        /// <summary>
        /// The registration as stored. Its <see cref="PendingRegistration.AttemptsLeft"/> is the
        /// count it was stored with: the count now is <see cref="Attempts"/> (a wrong guess lowers
        /// that, so a guess allocates nothing that outlives the request).
        /// </summary>
        public PendingRegistration? Registration { get; private set; }

        /// <summary>The attempts <see cref="Registration"/> has left now.</summary>
        public int Attempts;

        /// <summary>What the last send replaced (the previous code, or the registration a restart replaced), for <see cref="CancelSendAsync"/>.</summary>
        public PendingRegistration? Replaced { get; private set; }

        /// <summary>The attempts <see cref="Replaced"/> had left when it was replaced.</summary>
        private int _replacedAttempts;

        /// <summary>The attempts the current code had when it was sent: the guesses made on it since are this less its attempts left.</summary>
        public int IssuedAttempts;

        /// <summary>
        /// When each send still inside the rolling window (or the cooldown) was made, in ticks,
        /// unordered (concurrent sends arrive out of order): <see cref="_sendCount"/> of them, in
        /// <see cref="_firstSend"/> while there is one and no array, else in <see cref="_sends"/>.
        /// Most keys hold one send, so most hold no array: a key lives for the window, and every
        /// object it keeps is one more for the GC to promote and mark.
        /// </summary>
        private long _firstSend;
        private long[]? _sends;
        private int _sendCount;
        /// <summary>How long a send is remembered, in ticks: the longer of the window and the cooldown of the last policy applied.</summary>
        private long _memoryTicks;
        public long ScheduledTicks;

        /// <summary>The payload expiry last put in the payload queue; 0 when the slot holds no payload.</summary>
        public long PayloadTicks;
        public bool Removed;

        public bool HasPayload => Registration is not null || Replaced is not null;

        /// <summary>When the later of the registration and the replaced one expires.</summary>
        public DateTimeOffset PayloadExpiresAt
        {
            get
            {
                var at = Registration?.ExpiresAt ?? DateTimeOffset.MinValue;
                return Replaced is { } p && p.ExpiresAt > at ? p.ExpiresAt : at;
            }
        }

        /// <summary>Until when the key is marked used (<see cref="ConsumeOnceAsync"/>), in UTC ticks; 0 when never.</summary>
        public long ConsumedUntilTicks;

        /// <summary>When nothing in the slot matters any more: MinValue when it is empty.</summary>
        public DateTimeOffset ExpiresAt
        {
            get
            {
                var at = DateTimeOffset.MinValue;
                if (Registration is { } r)
                {
                    at = r.ExpiresAt;
                }

                if (Replaced is { } p && p.ExpiresAt > at)
                {
                    at = p.ExpiresAt;
                }

                if (ConsumedUntilTicks > at.UtcTicks)
                {
                    at = new DateTimeOffset(ConsumedUntilTicks, TimeSpan.Zero);
                }

                if (_sendCount > 0)
                {
                    var last = new DateTimeOffset(Latest(Sends) + _memoryTicks, TimeSpan.Zero);
                    if (last > at)
                    {
                        at = last;
                    }
                }

                return at;
            }
        }

        public void DropExpired(DateTimeOffset now)
        {
            if (Registration is { } r && now >= r.ExpiresAt)
            {
                Registration = null;
                Attempts = 0;
            }

            if (Replaced is { } p && now >= p.ExpiresAt)
            {
                Replaced = null;
                _replacedAttempts = 0;
            }

            Prune(now);
        }

        /// <summary>Stores <paramref name="registration"/> with the attempts it says it has.</summary>
        public void Store(PendingRegistration registration) => Store(registration, registration.AttemptsLeft);

        /// <summary>Stores <paramref name="registration"/> with <paramref name="attempts"/> left.</summary>
        public void Store(PendingRegistration registration, int attempts)
        {
            Registration = registration;
            Attempts = attempts;
        }

        /// <summary>Keeps the registration, with the attempts it has left now, as the one the next send replaces.</summary>
        public void KeepAsReplaced()
        {
            Replaced = Registration;
            _replacedAttempts = Attempts;
        }

        /// <summary>Undoes the last send: the replaced registration comes back less the <paramref name="guesses"/> made on the undone code.</summary>
        public void RestoreReplaced(int guesses)
        {
            if (Replaced is { } previous)
            {
                Store(previous, guesses > 0 ? Math.Max(0, _replacedAttempts - guesses) : _replacedAttempts);
            }
            else
            {
                Registration = null;
                Attempts = 0;
            }

            Replaced = null;
            _replacedAttempts = 0;
        }

        /// <summary>Drops the registration and the one it replaced.</summary>
        public void Clear()
        {
            Registration = null;
            Attempts = 0;
            Replaced = null;
            _replacedAttempts = 0;
        }

        public SendGateResult TakeSendSlot(SendPolicy policy, DateTimeOffset now)
        {
            _memoryTicks = Math.Max(policy.Window.Ticks, policy.Cooldown.Ticks);
            Prune(now);
            var sends = Sends;
            var nowTicks = now.UtcTicks;

            // No cooldown means no check: concurrent sends reach the store out of their time order,
            // and one stamped a moment before the last must not be refused (the per-client limit).
            if (policy.Cooldown > TimeSpan.Zero && sends.Length > 0)
            {
                var since = TimeSpan.FromTicks(nowTicks - Latest(sends));
                if (since < policy.Cooldown)
                {
                    return new SendGateResult(SendGateStatus.TooFrequent, policy.Cooldown - since);
                }
            }

            // A rolling window: the sends of the last Window, whenever they were made.
            var windowTicks = policy.Window.Ticks;
            var inWindow = 0;
            foreach (var sent in sends)
            {
                if (nowTicks - sent < windowTicks)
                {
                    inWindow++;
                }
            }

            if (inWindow >= policy.MaxPerWindow)
            {
                // The next send is allowed once enough of the oldest ones have left the window.
                var stamps = inWindow <= 64 ? stackalloc long[inWindow] : new long[inWindow];
                var n = 0;
                foreach (var sent in sends)
                {
                    if (nowTicks - sent < windowTicks)
                    {
                        stamps[n++] = sent;
                    }
                }

                stamps.Sort();
                var leaving = stamps[inWindow - policy.MaxPerWindow];
                return new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromTicks(leaving + windowTicks - nowTicks));
            }

            AddSend(nowTicks);
            return SendGateResult.Allowed;
        }

        public void ReleaseSendSlot()
        {
            if (_sendCount == 0)
            {
                return;
            }

            var sends = WritableSends;
            var latest = 0;
            for (var i = 1; i < sends.Length; i++)
            {
                if (sends[i] > sends[latest])
                {
                    latest = i;
                }
            }

            // Unordered: the last one takes its place.
            sends[latest] = sends[--_sendCount];
        }

        /// <summary>The sends held, in no order.</summary>
        private ReadOnlySpan<long> Sends => WritableSends;

        private Span<long> WritableSends => _sends is not null ? _sends.AsSpan(0, _sendCount)
            : _sendCount == 1 ? new Span<long>(ref _firstSend)
            : default;

        private void AddSend(long ticks)
        {
            if (_sends is null)
            {
                if (_sendCount == 0)
                {
                    _firstSend = ticks;
                    _sendCount = 1;
                    return;
                }

                _sends = new long[2];
                _sends[0] = _firstSend;
            }
            else if (_sendCount == _sends.Length)
            {
                Array.Resize(ref _sends, _sendCount * 2);
            }

            _sends[_sendCount++] = ticks;
        }

        private static long Latest(ReadOnlySpan<long> sends)
        {
            var latest = sends[0];
            foreach (var sent in sends)
            {
                latest = Math.Max(latest, sent);
            }

            return latest;
        }

        private void Prune(DateTimeOffset now)
        {
            if (_sendCount == 0)
            {
                return;
            }

            var sends = WritableSends;
            var memory = _memoryTicks;
            var nowTicks = now.UtcTicks;
            var kept = 0;
            for (var i = 0; i < sends.Length; i++)
            {
                if (nowTicks - sends[i] < memory)
                {
                    sends[kept++] = sends[i];
                }
            }

            _sendCount = kept;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, EventName = "OtpStoreEvicted", Level = LogLevel.Warning, Message = "The in-memory store is at OtpSignup:MaxPendingEntries ({MaxPendingEntries}): {Evicted} pending registrations nearest their expiry were evicted to make room since the last report (their owners must start again). A flood, or a cap too small: see the README on sizing.")]
        public static partial void Evicted(ILogger logger, long evicted, int maxPendingEntries);
    }
}
