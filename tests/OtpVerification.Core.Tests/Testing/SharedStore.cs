using System.Reflection;
using OtpVerification.Stores;

namespace OtpVerification.Testing;

/// <summary>
/// A store that says it is shared by several instances (<see cref="IDistributedPendingRegistrationStore"/>)
/// and forwards every call to an in-memory store: what a Redis store looks like to the start-up
/// checks, without a Redis server. A proxy rather than a class implementing the interface, so it
/// keeps up with the store contract by itself.
/// </summary>
#pragma warning disable CA1852 // DispatchProxy needs a class it can derive from.
public class SharedStore : DispatchProxy
#pragma warning restore CA1852
{
    private IPendingRegistrationStore _inner = null!;

    /// <summary>Wraps <paramref name="inner"/> (a new in-memory store when null).</summary>
    /// <param name="inner">The store that does the work.</param>
    /// <returns>The shared-looking store.</returns>
    public static IDistributedPendingRegistrationStore Over(IPendingRegistrationStore? inner = null)
    {
        var store = Create<IDistributedPendingRegistrationStore, SharedStore>();
        ((SharedStore)(object)store)._inner = inner ?? new InMemoryPendingRegistrationStore(100_000);
        return store;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
