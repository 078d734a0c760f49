using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification;
using OtpVerification.Diagnostics;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OtpVerification engine and its default seams.</summary>
public static class OtpVerificationServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine with its defaults: the CSPRNG generator, the HMAC hasher, the
    /// in-memory store, the development outbox for email and SMS (only in the Development
    /// environment, or where no host environment is registered), <see cref="TimeProvider.System"/>,
    /// and options validated at start-up. Outside Development a host without an email sender
    /// fails to start; with a store shared by several instances
    /// (<see cref="IDistributedPendingRegistrationStore"/>), so does one without
    /// <c>OtpSignup:Code:HashKey</c>. Safe to call more than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>A builder for stores and senders.</returns>
    public static OtpVerificationBuilder AddOtpVerification(this IServiceCollection services, Action<OtpVerificationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<OtpVerificationOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(OtpEngine)))
        {
            return new OtpVerificationBuilder(services);
        }

        // Once only. The DataAnnotations rules run through a validator that names the keys of the
        // section the app used (OtpVerification or the old OtpSignup).
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OtpVerificationOptions>, OtpVerificationOptionsAnnotationsValidator>());

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OtpVerificationOptions>, OtpVerificationOptionsValidator>());

        // With a store shared by several instances (IDistributedPendingRegistrationStore), a code
        // hash key drawn per process is a start-up error; checked once, when the host starts.
        services.AddOptions<SharedStoreSecrets>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SharedStoreSecrets>, SharedStoreSecretsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IOtpCodeGenerator, RandomOtpCodeGenerator>();
        services.TryAddSingleton<IOtpCodeHasher, HmacOtpCodeHasher>();
        services.TryAddSingleton<IOtpPhoneNumbers, BasicOtpPhoneNumbers>();
        services.TryAddSingleton<IOtpCodeProtector, AesGcmOtpCodeProtector>();
        services.AddOptions<OtpLocalizationOptions>();
        services.TryAddSingleton<OtpTexts>();
        services.TryAddSingleton<DefaultOtpMessageFormatter>();
        services.TryAddSingleton<IOtpMessageFormatter>(sp => sp.GetRequiredService<DefaultOtpMessageFormatter>());
        services.TryAddSingleton<IPendingRegistrationStore, InMemoryPendingRegistrationStore>();
        services.TryAddSingleton<DevOutbox>();
        services.TryAddSingleton(sp => new OtpMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<OtpEngine>();
        services.AddSingleton<IOtpSender>(sp => DevOutboxSender.ForEnvironment(sp, OtpChannel.Email)!);
        services.AddSingleton<IOtpSender>(sp => DevOutboxSender.ForEnvironment(sp, OtpChannel.Sms)!);
        services.AddHostedService<OtpSenderStartupCheck>();
        return new OtpVerificationBuilder(services);
    }

    /// <summary>
    /// Adds the app's texts for OtpVerification: the resources named after <paramref name="resourceType"/>
    /// (e.g. <c>Resources/MyOtpTexts.fr.resx</c> for a class <c>MyOtpTexts</c>), asked before the
    /// built-in English and Spanish texts, with the same keys (see <see cref="OtpTexts"/>).
    /// Needs an <c>IStringLocalizerFactory</c> (<c>services.AddLocalization()</c>; the ASP.NET
    /// Core package registers it). To answer in a new language, also list it in
    /// <c>OtpSignup:Messages:SupportedCultures</c>. Adding the same type twice adds it once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="resourceType">The type the app's resources are named after.</param>
    /// <returns>The builder.</returns>
    public static TBuilder AddTexts<TBuilder>(this TBuilder builder, Type resourceType)
        where TBuilder : IOtpVerificationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resourceType);
        builder.Services.Configure<OtpLocalizationOptions>(o =>
        {
            if (!o.ResourceTypes.Contains(resourceType))
            {
                o.ResourceTypes.Add(resourceType);
            }
        });
        return builder;
    }

    /// <summary>
    /// Registers the engine (see <see cref="AddOtpVerification(IServiceCollection, Action{OtpVerificationOptions}?)"/>)
    /// with its options bound from <paramref name="configuration"/>.
    /// </summary>
    /// <remarks>
    /// Pass the app's configuration to bind the <c>OtpVerification</c> section together with its
    /// former name <c>OtpSignup</c>, which keeps working: a key present under both takes the
    /// <c>OtpVerification</c> value. Pass a section to bind exactly that one. Start-up errors name
    /// the keys under the section the app used.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The app's configuration, or the one section to bind.</param>
    /// <param name="configure">Further configuration applied after binding.</param>
    /// <returns>A builder for stores and senders.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static OtpVerificationBuilder AddOtpVerification(this IServiceCollection services, IConfiguration configuration, Action<OtpVerificationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var optionsBuilder = services.AddOptions<OtpVerificationOptions>();
        string sectionName;
        if (configuration is IConfigurationSection section)
        {
            optionsBuilder.Bind(section);
            sectionName = section.Path;
        }
        else
        {
            // The former section under the current one: the later source wins key by key.
            var legacy = configuration.GetSection(OtpVerificationOptions.LegacySectionName);
            var current = configuration.GetSection(OtpVerificationOptions.SectionName);
            var merged = new ConfigurationBuilder()
                .AddConfiguration(legacy, shouldDisposeConfiguration: false)
                .AddConfiguration(current, shouldDisposeConfiguration: false)
                .Build();
            optionsBuilder.Bind(merged);
            sectionName = current.Exists() || !legacy.Exists() ? OtpVerificationOptions.SectionName : OtpVerificationOptions.LegacySectionName;
        }

        services.Replace(ServiceDescriptor.Singleton(new OtpConfigurationSection(sectionName)));
        return services.AddOtpVerification(configure);
    }

    /// <summary>
    /// Uses <typeparamref name="TStore"/> as the pending-registration store, replacing the one
    /// registered before (the in-memory store by default). Safe to call more than once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <typeparam name="TStore">The store.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static TBuilder UseStore<TBuilder, TStore>(this TBuilder builder)
        where TBuilder : IOtpVerificationBuilder
        where TStore : class, IPendingRegistrationStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore, TStore>());
        return builder;
    }

    /// <summary>
    /// Adds a sender. For each channel the sender added last is used; the development outbox
    /// senders are registered first, so any sender added here takes over its channel. Adding the
    /// same sender type twice registers it once.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <typeparam name="TSender">The sender.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static TBuilder AddSender<TBuilder, TSender>(this TBuilder builder)
        where TBuilder : IOtpVerificationBuilder
        where TSender : class, IOtpSender
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOtpSender, TSender>());
        return builder;
    }
}
