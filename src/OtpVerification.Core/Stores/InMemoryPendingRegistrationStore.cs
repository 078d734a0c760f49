using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace OtpVerification.Stores;

/// <summary>
/// A pending-registration store in this process's memory, for a single app instance. Each
/// operation is atomic per key (a lock per entry, none across entries). Send limits are rolling:
/// every send inside the last window counts, whenever in it it was made. Expired entries are swept
/// a few at a time from a queue ordered by expiry, never by scanning the whole store, and the
/// number of entries is capped (<see cref="OtpVerificationOptions.MaxPendingEntries"/>): at the cap a
/// new key is refused with <see cref="SendGateStatus.CapacityExceeded"/>.
/// </summary>
public sealed class InMemoryPendingRegistrationStore : IPendingRegistrationStore
{
    private const int SweepBudget = 16;

    private readonly ConcurrentDictionary<PendingKey, Slot> _slots = new();
    private readonly ConcurrentQueue<(PendingKey Key, long Ticks)> _scheduled = new();
    private readonly PriorityQueue<PendingKey, long> _expiries = new();
    private readonly Lock _sweepLock = new();
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private int _count;

    /// <summary>Creates a store with the capacity from <see cref="OtpVerificationOptions.MaxPendingEntries"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time.</param>
    public InMemoryPendingRegistrationStore(IOptions<OtpVerificationOptions> options, TimeProvider timeProvider)
        : this(options?.Value.MaxPendingEntries ?? throw new ArgumentNullException(nameof(options)), timeProvider)
    {
    }

    /// <summary>Creates a store holding at most <paramref name="capacity"/> keys.</summary>
    /// <param name="capacity">The cap on entries (pending registrations and send-limit records).</param>
    /// <param name="timeProvider">The clock, used for operations that are not given the time; <see cref="TimeProvider.System"/> when null.</param>
    public InMemoryPendingRegistrationStore(int capacity, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The number of keys held now (registrations and send-limit records), expired ones not yet swept included.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc />
    public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(registration.FlowId);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(registration.Key, now, create: true, slot =>
        {
            var gate = slot.TakeSendSlot(policy, now);
            if (gate.Status == SendGateStatus.Allowed)
            {
                slot.Replaced = slot.Registration;
                slot.Registration = registration;
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

            slot.Replaced = current;
            if (code.ReuseWhileRemaining is { } remaining && current.ProtectedCode is not null && current.AttemptsLeft > 0 && current.CodeExpiresAt - now >= remaining)
            {
                slot.IssuedAttempts = current.AttemptsLeft;
                // The same code again: its expiry and the attempts it has left stay.
                return new SendGateResult(SendGateStatus.Allowed, Registration: current);
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
            slot.Registration = updated;
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

            slot.Registration = current with { CodeHash = codeHash, ProtectedCode = protectedCode, DeliveredTo = destination };
            return true;
        }, false));
    }

    /// <inheritdoc />
    public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flowId);
        ArgumentNullException.ThrowIfNull(codeHashes);
        cancellationToken.ThrowIfCancellationRequested();
        return new(Update(key, now, create: false, slot =>
        {
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

            if (current.AttemptsLeft <= 0)
            {
                return new StoreVerifyResult(StoreVerifyStatus.MaxAttempts);
            }

            if (now >= current.CodeExpiresAt)
            {
                return new StoreVerifyResult(StoreVerifyStatus.Expired);
            }

            // The attempt is counted before the comparison.
            var left = current.AttemptsLeft - 1;
            var matched = false;
            foreach (var hash in codeHashes)
            {
                matched |= hash is not null && CryptographicOperations.FixedTimeEquals(current.CodeHash, hash);
            }

            if (matched && !current.Decoy)
            {
                slot.Registration = null;
                slot.Replaced = null;
                return new StoreVerifyResult(StoreVerifyStatus.Success, left, current);
            }

            slot.Registration = current with { AttemptsLeft = left };
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
                var guesses = Math.Max(0, slot.IssuedAttempts - current.AttemptsLeft);
                if (guesses == 0)
                {
                    slot.ReleaseSendSlot();
                }

                slot.Registration = slot.Replaced is { } previous && guesses > 0
                    ? previous with { AttemptsLeft = Math.Max(0, previous.AttemptsLeft - guesses) }
                    : slot.Replaced;
                slot.Replaced = null;
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

            slot.Registration = registration;
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
            slot.Registration = null;
            slot.Replaced = null;
            return had;
        }, false));
    }

    private static bool FlowIdsEqual(string stored, string offered)
        => stored.Length == offered.Length
           && CryptographicOperations.FixedTimeEquals(System.Runtime.InteropServices.MemoryMarshal.AsBytes(stored.AsSpan()), System.Runtime.InteropServices.MemoryMarshal.AsBytes(offered.AsSpan()));

    private TResult Update<TResult>(PendingKey key, DateTimeOffset now, bool create, Func<Slot, TResult> operation, TResult whenMissing)
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

                if (Interlocked.Increment(ref _count) > _capacity)
                {
                    Interlocked.Decrement(ref _count);
                    Sweep(now, int.MaxValue);
                    if (Interlocked.Increment(ref _count) > _capacity)
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

            lock (slot)
            {
                if (slot.Removed)
                {
                    continue;
                }

                slot.DropExpired(now);

                var result = operation(slot);
                var expiry = slot.ExpiresAt;
                if (expiry <= now)
                {
                    Remove(key, slot);
                }
                else if (expiry.UtcTicks > slot.ScheduledTicks)
                {
                    slot.ScheduledTicks = expiry.UtcTicks;
                    _scheduled.Enqueue((key, expiry.UtcTicks));
                }

                return result;
            }
        }
    }

    private void Remove(PendingKey key, Slot slot)
    {
        slot.Removed = true;
        if (_slots.TryRemove(new KeyValuePair<PendingKey, Slot>(key, slot)))
        {
            Interlocked.Decrement(ref _count);
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
                        slot.DropExpired(now);
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
    }

    private sealed class Slot
    {
        public PendingRegistration? Registration;

        /// <summary>What the last send replaced (the previous code, or the registration a restart replaced), for <see cref="CancelSendAsync"/>.</summary>
        public PendingRegistration? Replaced;

        /// <summary>The attempts the current code had when it was sent: the guesses made on it since are this less its attempts left.</summary>
        public int IssuedAttempts;

        /// <summary>When each send still inside the rolling window (or the cooldown) was made, in ticks; unordered (concurrent sends arrive out of order).</summary>
        public List<long>? Sends;
        public TimeSpan Window;
        public TimeSpan Cooldown;
        public long ScheduledTicks;
        public bool Removed;

        /// <summary>How long a send is remembered: the longer of the window and the cooldown.</summary>
        private TimeSpan Memory => Window > Cooldown ? Window : Cooldown;

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

                if (Sends is { Count: > 0 } sends)
                {
                    var last = new DateTimeOffset(sends.Max(), TimeSpan.Zero) + Memory;
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
            }

            if (Replaced is { } p && now >= p.ExpiresAt)
            {
                Replaced = null;
            }

            Prune(now);
        }

        public SendGateResult TakeSendSlot(SendPolicy policy, DateTimeOffset now)
        {
            Window = policy.Window;
            Cooldown = policy.Cooldown;
            Prune(now);
            var sends = Sends ??= new List<long>(Math.Min(policy.MaxPerWindow, 8));
            var nowTicks = now.UtcTicks;

            // No cooldown means no check: concurrent sends reach the store out of their time order,
            // and one stamped a moment before the last must not be refused (the per-client limit).
            if (policy.Cooldown > TimeSpan.Zero && sends.Count > 0)
            {
                var last = sends.Max();
                var since = TimeSpan.FromTicks(nowTicks - last);
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
                var stamps = sends.Where(sent => nowTicks - sent < windowTicks).Order().ToArray();
                var leaving = stamps[inWindow - policy.MaxPerWindow];
                return new SendGateResult(SendGateStatus.RateLimited, TimeSpan.FromTicks(leaving + windowTicks - nowTicks));
            }

            sends.Add(nowTicks);
            return SendGateResult.Allowed;
        }

        public void ReleaseSendSlot()
        {
            if (Sends is not { Count: > 0 } sends)
            {
                return;
            }

            var latest = 0;
            for (var i = 1; i < sends.Count; i++)
            {
                if (sends[i] > sends[latest])
                {
                    latest = i;
                }
            }

            sends.RemoveAt(latest);
        }

        private void Prune(DateTimeOffset now)
        {
            if (Sends is not { Count: > 0 } sends)
            {
                return;
            }

            var memory = Memory.Ticks;
            var nowTicks = now.UtcTicks;
            sends.RemoveAll(sent => nowTicks - sent >= memory);
        }
    }
}
