namespace OtpVerification.Stores;

/// <summary>
/// An optional capability of a pending-registration store: a cheap round trip to its backing
/// service, for health checks (<c>AddOtpStoreHealthCheck()</c> in the ASP.NET Core package). A
/// store that does not implement it is probed with a <see cref="IPendingRegistrationStore.DeleteAsync"/>
/// of a key no registration uses.
/// </summary>
public interface IOtpStoreHealth
{
    /// <summary>Checks that the backing service answers (Redis: <c>PING</c>). Changes nothing.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the service answered.</returns>
    /// <exception cref="OtpStoreUnavailableException">The service cannot be reached or answered with an error.</exception>
    ValueTask PingAsync(CancellationToken cancellationToken = default);
}
