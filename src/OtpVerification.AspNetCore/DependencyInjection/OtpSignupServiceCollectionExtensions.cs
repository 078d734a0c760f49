using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification;
using OtpVerification.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The builder returned by <c>AddOtpSignup&lt;TForm&gt;()</c>: completion, sign-in, stores and senders.</summary>
/// <typeparam name="TForm">The signup form.</typeparam>
public sealed class OtpSignupBuilder<TForm> : IOtpVerificationBuilder
    where TForm : OtpSignupForm
{
    internal OtpSignupBuilder(IServiceCollection services) => Services = services;

    /// <inheritdoc />
    public IServiceCollection Services { get; }

    /// <summary>
    /// Completes signups and password resets with ASP.NET Core Identity: the duplicate check and
    /// the password policy at start, <see cref="UserManager{TUser}.CreateAsync(TUser, string)"/>
    /// with the email confirmed at completion. Register Identity itself as usual
    /// (<c>AddIdentityApiEndpoints&lt;TUser&gt;()</c> or <c>AddIdentity…</c>). Safe to call twice.
    /// </summary>
    /// <typeparam name="TUser">The Identity user type.</typeparam>
    /// <param name="configureUser">Fills further user properties from the verified form (a display name, say).</param>
    /// <returns>The builder.</returns>
    public OtpSignupBuilder<TForm> AddIdentityUsers<TUser>(Action<TUser, TForm>? configureUser = null)
        where TUser : IdentityUser, new()
    {
        Services.Replace(ServiceDescriptor.Singleton(new IdentityUserMapping<TUser, TForm>(configureUser)));
        Services.TryAddScoped<IOtpSignupCompletion<TForm>, IdentityOtpSignupCompletion<TUser, TForm>>();
        Services.TryAddScoped<IOtpPasswordReset, IdentityOtpPasswordReset<TUser>>();
        Services.TryAddScoped<IOtpAccounts, IdentityOtpAccounts<TUser>>();
        return this;
    }

    /// <summary>Completes signups with your own handler instead of Identity. Replaces an earlier completion.</summary>
    /// <typeparam name="THandler">The handler, resolved per request.</typeparam>
    /// <returns>The builder.</returns>
    public OtpSignupBuilder<TForm> CompleteWith<THandler>()
        where THandler : class, IOtpSignupCompletion<TForm>
    {
        Services.Replace(ServiceDescriptor.Scoped<IOtpSignupCompletion<TForm>, THandler>());
        return this;
    }

    /// <summary>Sets how the endpoints identify a client for the per-client send limit.</summary>
    /// <param name="configure">Configures the endpoint options.</param>
    /// <returns>The builder.</returns>
    public OtpSignupBuilder<TForm> ConfigureEndpoints(Action<OtpEndpointOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Sets the authentication schemes a verified user is signed in with.</summary>
    /// <param name="configure">Configures the scheme names.</param>
    /// <returns>The builder.</returns>
    public OtpSignupBuilder<TForm> ConfigureSignIn(Action<OtpSignInOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }
}

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
    public static OtpSignupBuilder<TForm> AddOtpSignup<TForm>(this IServiceCollection services, IConfiguration configuration, Action<OtpSignupOptions>? configure = null)
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<OtpSignupOptions>().Bind(configuration);
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
    public static OtpSignupBuilder<TForm> AddOtpSignup<TForm>(this IServiceCollection services, Action<OtpSignupOptions>? configure = null)
        where TForm : OtpSignupForm
    {
        ArgumentNullException.ThrowIfNull(services);
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
}

/// <summary>Remembers the form type for the non-generic <c>MapOtpSignup()</c>.</summary>
internal sealed record OtpSignupFormType(Type Type);
