namespace OtpVerification.Stores;

/// <summary>
/// A pending-registration store shared by every app instance that uses it (Redis, a database):
/// what one instance writes, another reads. Implementing it is how a store says so, and it turns
/// on the start-up checks for running more than one instance: every instance must then share
/// <c>OtpSignup:Code:HashKey</c> (a missing key stops the app at start-up) and the Data Protection
/// key ring (the ASP.NET Core package logs a warning when it is not persisted to a shared place).
/// </summary>
/// <remarks>
/// It adds no member: the contract is <see cref="IPendingRegistrationStore"/>'s. A store kept in
/// one process's memory must not implement it.
/// </remarks>
#pragma warning disable CA1040 // A marker on purpose: the capability has no member of its own, and a type test needs no instance state.
public interface IDistributedPendingRegistrationStore : IPendingRegistrationStore
#pragma warning restore CA1040
{
}
