using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore;

/// <summary>
/// At start-up, with a store shared by several instances (<see cref="IDistributedPendingRegistrationStore"/>),
/// warns when the Data Protection key ring that protects pending forms is not shared: kept in the
/// default per-machine directory or in memory only (ephemeral), or used without an application
/// name, which by default is the content root path and so differs between hosts. An instance that
/// cannot decrypt another's payload answers a right code with 503 (and counts it in
/// <c>otp_verification.payloads.unreadable</c>); this check says why before the first such answer.
/// A warning, not an error: a repository this check cannot see through (a directory on a shared
/// volume that happens to be the default one, say) may well be shared.
/// </summary>
internal sealed partial class SharedKeyRingCheck(IServiceProvider services, ILogger<SharedKeyRingCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        IPendingRegistrationStore? store;
        try
        {
            store = services.GetService<IPendingRegistrationStore>();
        }
#pragma warning disable CA1031 // A store that cannot be built fails the app elsewhere, with its own message; a warning has nothing to add.
        catch (Exception)
#pragma warning restore CA1031
        {
            return Task.CompletedTask;
        }

        if (store is not IDistributedPendingRegistrationStore)
        {
            return Task.CompletedTask;
        }

        if (!IsKeyRingShared(services))
        {
            Log.KeyRingNotShared(logger, store.GetType().Name);
        }

        if (!IsApplicationNameSet(services))
        {
            Log.ApplicationNameNotSet(logger, store.GetType().Name);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>False for an ephemeral provider, no configured repository (the per-machine default), or a file repository in the default directory.</summary>
    internal static bool IsKeyRingShared(IServiceProvider services)
    {
        if (services.GetService<IDataProtectionProvider>() is EphemeralDataProtectionProvider)
        {
            return false;
        }

        var repository = services.GetService<IOptions<KeyManagementOptions>>()?.Value.XmlRepository;
        return repository switch
        {
            null => false,
            FileSystemXmlRepository files => FileSystemXmlRepository.DefaultKeyStorageDirectory is not { } defaultDirectory || !SamePath(files.Directory.FullName, defaultDirectory.FullName),
            _ => true,
        };
    }

    /// <summary>False when the application discriminator is unset or is the default one: the content root path.</summary>
    internal static bool IsApplicationNameSet(IServiceProvider services)
    {
        var discriminator = services.GetService<IOptions<DataProtectionOptions>>()?.Value.ApplicationDiscriminator;
        if (string.IsNullOrEmpty(discriminator))
        {
            return false;
        }

        return services.GetService<IHostEnvironment>()?.ContentRootPath is not { Length: > 0 } contentRoot || !SamePath(discriminator, contentRoot);
    }

    private static bool SamePath(string a, string b)
        => string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, EventName = "OtpKeyRingNotShared", Level = LogLevel.Warning, Message = "The pending-registration store ({StoreType}) is shared by every instance, but the Data Protection key ring is not persisted to a shared place (it is kept in the default per-machine directory, or in memory only): a right code verified on another instance than the one that started the signup will be answered 503. Persist the key ring where every instance reads it (services.AddDataProtection().PersistKeysToFileSystem(shared directory), PersistKeysToStackExchangeRedis, PersistKeysToDbContext, …) and call SetApplicationName with the same name on every instance.")]
        public static partial void KeyRingNotShared(ILogger logger, string storeType);

        [LoggerMessage(EventId = 2102, EventName = "OtpApplicationNameNotSet", Level = LogLevel.Warning, Message = "The pending-registration store ({StoreType}) is shared by every instance, but the Data Protection application name is not set: it defaults to the content root path, so instances deployed to different paths cannot read each other's pending registrations (answered 503). Call services.AddDataProtection().SetApplicationName(\"…\") with the same name on every instance, next to PersistKeysTo….")]
        public static partial void ApplicationNameNotSet(ILogger logger, string storeType);
    }
}
