using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OtpVerification.AspNetCore;

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
        // The policy reads the registrations (the app's UserManager, Identity's options) once the
        // container is built: AddUserManager<T>() may come after this call.
        var services = Services;
        Services.TryAddSingleton(sp => new IdentityPasswordPolicy<TUser>(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<IdentityOptions>>(), services));
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
