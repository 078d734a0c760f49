using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtpVerification;
using OtpVerification.Senders;
using OtpVerification.Twilio;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the Twilio SMS sender to an OtpVerification builder. The SMTP email sender is in the
/// OtpVerification.MailKit package (<c>AddMailKitSender</c>).
/// </summary>
public static class OtpVerificationTwilioBuilderExtensions
{
    /// <summary>
    /// Sends SMS codes through Twilio's Messages API with the settings bound from
    /// <paramref name="configuration"/> (by convention the <c>Sms:Twilio</c> section:
    /// <c>AccountSid</c>, <c>AuthToken</c>, <c>From</c> or <c>MessagingServiceSid</c>,
    /// <c>BaseUrl</c>, <c>Timeout</c>). The settings are validated when the host starts; the
    /// sender replaces any SMS sender registered before it. Safe to call more than once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The configuration section to bind.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static TBuilder AddTwilioSmsSender<TBuilder>(this TBuilder builder, IConfiguration configuration)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<TwilioSmsOptions>().Bind(configuration);
        return AddTwilioSmsSenderCore(builder, (configuration as IConfigurationSection)?.Path);
    }

    /// <summary>
    /// Sends SMS codes through Twilio's Messages API with the settings set by
    /// <paramref name="configure"/>. The settings are validated when the host starts; the sender
    /// replaces any SMS sender registered before it. Safe to call more than once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the Twilio settings.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static TBuilder AddTwilioSmsSender<TBuilder>(this TBuilder builder, Action<TwilioSmsOptions> configure)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<TwilioSmsOptions>().Configure(configure);
        return AddTwilioSmsSenderCore(builder, null);
    }

    private static TBuilder AddTwilioSmsSenderCore<TBuilder>(TBuilder builder, string? sectionPath)
        where TBuilder : IOtpVerificationBuilder
    {
        var services = builder.Services;
        services.AddOptions<TwilioSmsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TwilioSmsOptions>>(new TwilioSmsOptionsValidator(sectionPath)));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOtpMessageFormatter, DefaultOtpMessageFormatter>();
        if (!services.Any(d => d.ServiceType == typeof(IOtpSender) && d.ImplementationFactory is not null && d.ImplementationFactory.Method.ReturnType == typeof(TwilioSmsSender)))
        {
            // A typed client (one HttpClient per sender). The sender is a singleton held by the
            // engine, so the handler is never rotated: SocketsHttpHandler's own pooled-connection
            // lifetime picks up DNS changes instead. The time-out is the sender's (TimeProvider),
            // not HttpClient.Timeout. No retry handler is added, on purpose (see TwilioSmsSender).
            services.AddHttpClient<TwilioSmsSender>(TwilioSmsOptions.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
                .UseSocketsHttpHandler((handler, _) => handler.PooledConnectionLifetime = TimeSpan.FromMinutes(2))
                .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
            services.AddSingleton<IOtpSender>(TwilioSenderFactory);
        }

        return builder;
    }

    private static TwilioSmsSender TwilioSenderFactory(IServiceProvider services) => services.GetRequiredService<TwilioSmsSender>();
}
