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
    /// Registers the signup flow (and password reset and sign-in) for <typeparamref name="TForm"/>,
    /// its options bound from <paramref name="configuration"/> and validated at start-up.
    /// </summary>
    /// <remarks>
    /// Pass the app's configuration (<c>builder.Configuration</c>) to bind the
    /// <c>OtpVerification</c> section together with its former name <c>OtpSignup</c>, which keeps
    /// working: a key present under both takes the <c>OtpVerification</c> value. Pass a section
    /// (<c>GetSection("OtpVerification")</c>, or any other) to bind exactly that one. Start-up
    /// errors name the keys of the section the app used.
    /// </remarks>
    /// <typeparam name="TForm">The signup form: <see cref="OtpSignupForm"/> or a class derived from it.</typeparam>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The app's configuration, or the one section to bind.</param>
    /// <param name="configure">Further configuration applied after binding.</param>
    /// <returns>A builder for completion, stores and senders.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOtpSignup</c> was already called with another form type. Calling it again with the same form type is allowed: the registrations are made once and both <paramref name="configure"/> delegates apply.</exception>
    public static OtpSignupBuilder<TForm> AddOtpSignup<TForm>(this IServiceCollection services, IConfiguration configuration, Action<OtpVerificationOptions>? configure = null)
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ThrowIfOtherForm<TForm>(services);
        services.AddOtpVerification(configuration);
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
        ThrowIfOtherForm<TForm>(services);
        services.AddOtpVerification(configure);
        services.AddDataProtection();
        services.AddProblemDetails();

        // IStringLocalizerFactory for the app's own texts (AddTexts); TryAdd inside, so an app's own
        // localization setup (ResourcesPath, a custom factory) is kept.
        services.AddLocalization();
        services.AddOptions<OtpSignInOptions>();
        services.AddOptions<OtpEndpointOptions>();
        services.TryAddSingleton<OtpPayloadProtector>();
        services.Replace(ServiceDescriptor.Singleton<IOtpPhoneNumbers, LibPhoneNumberOtpPhoneNumbers>());
        services.Replace(ServiceDescriptor.Singleton<IOtpCodeProtector, DataProtectionOtpCodeProtector>());
        services.TryAddSingleton<OtpSignIn>();
        services.TryAddSingleton<OtpPhoneProofs>();
        services.TryAddSingleton(new OtpSignupFormType(typeof(TForm)));

        // With a store shared by several instances: warns at start-up when the key ring is not.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SharedKeyRingCheck>());
        return new OtpSignupBuilder<TForm>(services);
    }

    private static void ThrowIfOtherForm<TForm>(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(OtpSignupFormType))?.ImplementationInstance as OtpSignupFormType;
        if (registered is not null && registered.Type != typeof(TForm))
        {
            throw new InvalidOperationException($"AddOtpSignup<{typeof(TForm).Name}>() was called after AddOtpSignup<{registered.Type.Name}>(): an app has one signup form. Derive one form with every field the signup needs and register only it.");
        }
    }
}

/// <summary>The form type given to <c>AddOtpSignup&lt;TForm&gt;()</c>: a second, different one is refused, and <c>MapOtpSignup&lt;TForm&gt;()</c> and the OpenAPI document use it.</summary>
internal sealed record OtpSignupFormType(Type Type);
