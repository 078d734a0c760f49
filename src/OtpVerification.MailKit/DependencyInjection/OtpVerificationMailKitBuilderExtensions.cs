using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification;
using OtpVerification.MailKit;
using OtpVerification.Senders;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the MailKit SMTP email sender to an OtpVerification builder.</summary>
public static class OtpVerificationMailKitBuilderExtensions
{
    /// <summary>
    /// Sends email codes over SMTP with MailKit, with the settings bound from
    /// <paramref name="configuration"/> (usually the <c>Smtp</c> section: <c>Host</c>, <c>Port</c>,
    /// <c>Security</c>, <c>From</c>, <c>FromName</c>, <c>UserName</c>, <c>Password</c>,
    /// <c>Timeout</c>, <c>KeepAlive</c>; the older <c>EnableSsl</c> is accepted). TLS is on unless
    /// <c>Security</c> is <c>None</c>. The settings are validated when the host starts; the sender
    /// takes over the email channel from any sender registered before it. Safe to call more than
    /// once (the settings of later calls are applied on top). Register an
    /// <see cref="ISmtpAccessTokenProvider"/> to authenticate with OAuth2 instead of a password.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The configuration section to bind.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static TBuilder AddMailKitSender<TBuilder>(this TBuilder builder, IConfiguration configuration)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<MailKitSenderOptions>().Bind(configuration);
        return AddMailKitSenderCore(builder, (configuration as IConfigurationSection)?.Path);
    }

    /// <summary>
    /// Sends email codes over SMTP with MailKit, with the settings set by
    /// <paramref name="configure"/>. TLS is on unless <see cref="MailKitSenderOptions.Security"/> is
    /// <see cref="SmtpSecurity.None"/>. The settings are validated when the host starts; the sender
    /// takes over the email channel from any sender registered before it. Safe to call more than once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the SMTP settings.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static TBuilder AddMailKitSender<TBuilder>(this TBuilder builder, Action<MailKitSenderOptions> configure)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<MailKitSenderOptions>().Configure(configure);
        return AddMailKitSenderCore(builder, null);
    }

    private static TBuilder AddMailKitSenderCore<TBuilder>(TBuilder builder, string? sectionPath)
        where TBuilder : IOtpVerificationBuilder
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(MailKitOtpSender)))
        {
            return builder;
        }

        services.AddOptions<MailKitSenderOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<MailKitSenderOptions>>(sp => new MailKitSenderOptionsValidator(
            sectionPath,
            sp.GetService<IServiceProviderIsService>()?.IsService(typeof(ISmtpAccessTokenProvider)) == true));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOtpMessageFormatter, DefaultOtpMessageFormatter>();

        // One instance, so one kept-alive connection; disposed (QUIT) with the service provider.
        services.AddSingleton(sp => new MailKitOtpSender(
            sp.GetRequiredService<IOptionsMonitor<MailKitSenderOptions>>(),
            sp.GetRequiredService<IOtpMessageFormatter>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MailKitOtpSender>>(),
            sp.GetService<ISmtpAccessTokenProvider>()));
        services.AddSingleton<IOtpSender>(sp => sp.GetRequiredService<MailKitOtpSender>());
        return builder;
    }
}
