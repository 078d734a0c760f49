using OtpVerification.Stores;
using System.Diagnostics;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>Retries an operation until it stops throwing, within a bound.</summary>
public static class Eventually
{
    /// <summary>The operation's first result that did not throw.</summary>
    /// <exception cref="TimeoutException">It kept throwing for <paramref name="bound"/> (10 s by default).</exception>
    public static async Task<T> SucceedsAsync<T>(Func<Task<T>> operation, TimeSpan? bound = null)
    {
        var watch = Stopwatch.StartNew();
        var limit = bound ?? TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return await operation();
            }
            catch (OtpStoreUnavailableException) when (watch.Elapsed < limit)
            {
                await Task.Delay(50);
            }
        }
    }
}
