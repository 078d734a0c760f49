using System.Collections.Concurrent;

namespace OtpVerification;

/// <summary>
/// The clients this process last saw refused by the per-client send limit, and until when: a
/// flood from one client over its limit is answered from here, without a store call, until the
/// instant the store named for its retry. That answer is the store's own: while a client is
/// refused it takes no send slot, so nothing but time can free one (other instances only add
/// sends), and the retry-after is the same instant counted down. An entry counts only for the
/// limit it was refused under (a raised <c>MaxSendsPerClientPerHour</c> asks the store again).
/// </summary>
internal sealed class RefusedClients
{
    /// <summary>The most clients remembered; when full, expired ones are dropped, then all.</summary>
    internal const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Refusal> _refusals = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="clientKey"/> is known to be refused at <paramref name="now"/> under <paramref name="max"/>, and for how long still.</summary>
    public bool IsRefused(string clientKey, int max, DateTimeOffset now, out TimeSpan retryAfter)
    {
        if (_refusals.TryGetValue(clientKey, out var refusal) && refusal.Max == max)
        {
            if (now.UtcTicks < refusal.UntilTicks)
            {
                retryAfter = TimeSpan.FromTicks(refusal.UntilTicks - now.UtcTicks);
                return true;
            }

            _refusals.TryRemove(new KeyValuePair<string, Refusal>(clientKey, refusal));
        }

        retryAfter = default;
        return false;
    }

    /// <summary>Remembers that the store refused <paramref name="clientKey"/> at <paramref name="now"/> for <paramref name="retryAfter"/>.</summary>
    public void Remember(string clientKey, int max, DateTimeOffset now, TimeSpan retryAfter)
    {
        if (retryAfter <= TimeSpan.Zero)
        {
            return;
        }

        if (_refusals.Count >= Capacity)
        {
            foreach (var entry in _refusals)
            {
                if (entry.Value.UntilTicks <= now.UtcTicks)
                {
                    _refusals.TryRemove(entry);
                }
            }

            if (_refusals.Count >= Capacity)
            {
                _refusals.Clear();
            }
        }

        _refusals[clientKey] = new Refusal((now + retryAfter).UtcTicks, max);
    }

    private readonly record struct Refusal(long UntilTicks, int Max);
}
