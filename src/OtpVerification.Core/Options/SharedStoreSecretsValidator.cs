using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpVerification.Stores;

namespace OtpVerification;

/// <summary>
/// The start-up check for running more than one instance: an options type of its own, validated
/// on start only (<see cref="OptionsBuilderExtensions.ValidateOnStart{TOptions}(OptionsBuilder{TOptions})"/>),
/// so resolving the store and the hasher happens once, when the host starts, and never from inside
/// the validation of <see cref="OtpVerificationOptions"/> (which they depend on).
/// </summary>
internal sealed class SharedStoreSecrets
{
}

/// <summary>
/// Fails start-up when the store is shared by several instances
/// (<see cref="IDistributedPendingRegistrationStore"/>) but the code hash key is each process's own
/// random one: codes sent by one instance would fail on every other, and each restart would void
/// every code in flight.
/// </summary>
internal sealed class SharedStoreSecretsValidator(IServiceProvider services) : IValidateOptions<SharedStoreSecrets>
{
    public ValidateOptionsResult Validate(string? name, SharedStoreSecrets options)
    {
        IPendingRegistrationStore? store;
        IOtpCodeHasher? hasher;
        try
        {
            store = services.GetService<IPendingRegistrationStore>();
            hasher = services.GetService<IOtpCodeHasher>();
        }
#pragma warning disable CA1031 // A store or options that cannot even be built are reported by their own validation (which names the key); this check has nothing to add.
        catch (Exception)
#pragma warning restore CA1031
        {
            return ValidateOptionsResult.Skip;
        }

        if (store is IDistributedPendingRegistrationStore && hasher is HmacOtpCodeHasher { IsKeyConfigured: false })
        {
            return ValidateOptionsResult.Fail(OtpConfigurationSection.Of(services).Rewrite(
                $"OtpSignup:Code:HashKey is not set, but the pending-registration store ({store.GetType().Name}) is shared by every instance of the app: " +
                "each process would hash codes with a random key of its own, so a code sent by one instance would be refused by the others and a restart would void every code in flight. " +
                $"Set OtpSignup:Code:HashKey to the same secret on every instance (base64 of at least 32 random bytes). {OtpVerificationOptionsValidator.HowToMakeAKey}"));
        }

        return ValidateOptionsResult.Success;
    }
}
