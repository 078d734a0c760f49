using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification;
using OtpVerification.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers OtpVerification's signup flow in an ASP.NET Core app.</summary>
public static class OtpSignupServiceCollectionExtensions
{
    /// <summary>
    /// Registers the signup flow for <typeparamref name="TForm"/>, its options bound from
    /// <paramref name="configuration"/> (the <c>OtpSignup</c> section) and validated at start-up.
    /// </summary>
    /// <typeparam name="TForm">The signup form: <see cref="OtpSignupForm"/> or a class derived from it.</typeparam>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The <c>OtpSignup</c> configuration section.</param>
    /// <param name="configure">Further configuration applied after binding.</param>
    /// <returns>A builder for completion, stores and senders.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOtpSignup</c> was already called with another form type. Calling it again with the same form type is allowed: the registrations are made once and both <paramref name="configure"/> delegates apply.</exception>
    public static OtpSignupBuilder<TForm> AddOtpSignup<TForm>(this IServiceCollection services, IConfiguration configuration, Action<OtpVerificationOptions>? configure = null)
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<OtpVerificationOptions>().Bind(configuration);
        return services.AddOtpSignup<TForm>(configure);
    }

    /// <summary>
    /// Registers the signup flow for <typeparamref name="TForm"/>, configured by a delegate. With a
    /// store shared by several instances, start-up fails without <c>OtpSignup:Code:HashKey</c> and
    /// logs a warning when the Data Protection key ring is not persisted to a shared place or has no
    /// application name.
    /// </summary>
    /// <typeparam name="TForm">The signup form.</typeparam>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>A builder for completion, stores and senders.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOtpSignup</c> was already called with another form type. Calling it again with the same form type is allowed: the registrations are made once and both <paramref name="configure"/> delegates apply.</exception>
    public static OtpSignupBuilder<TForm> AddOtpSignup<TForm>(this IServiceCollection services, Action<OtpVerificationOptions>? configure = null)
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(services);
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(OtpSignupFormType))?.ImplementationInstance as OtpSignupFormType;
        if (registered is not null && registered.Type != typeof(TForm))
        {
            throw new InvalidOperationException($"AddOtpSignup<{typeof(TForm).Name}>() was called after AddOtpSignup<{registered.Type.Name}>(): an app has one signup form. Derive one form with every field the signup needs and register only it.");
        }

        services.AddOtpVerification(configure);
        services.AddDataProtection();
        services.AddProblemDetails();
        services.AddOptions<OtpSignInOptions>();
        services.AddOptions<OtpEndpointOptions>();
        services.TryAddSingleton<OtpPayloadProtector>();
        services.Replace(ServiceDescriptor.Singleton<IOtpPhoneNumbers, LibPhoneNumberOtpPhoneNumbers>());
        services.Replace(ServiceDescriptor.Singleton<IOtpCodeProtector, DataProtectionOtpCodeProtector>());
        services.TryAddSingleton<OtpSignIn>();
        services.TryAddSingleton(new OtpSignupFormType(typeof(TForm)));

        // With a store shared by several instances: warns at start-up when the key ring is not.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SharedKeyRingCheck>());
        return new OtpSignupBuilder<TForm>(services);
    }
}

/// <summary>The form type given to <c>AddOtpSignup&lt;TForm&gt;()</c>: a second, different one is refused, and <c>MapOtpSignup&lt;TForm&gt;()</c> and the OpenAPI document use it.</summary>
internal sealed record OtpSignupFormType(Type Type);
