using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// The configuration section the app's <see cref="OtpVerificationOptions"/> came from, so that a
/// start-up error names the key the user actually wrote: <c>OtpVerification:Code:Length</c> for an
/// app configured through the <c>OtpVerification</c> section, <c>OtpSignup:Code:Length</c> for one
/// configured through the old <c>OtpSignup</c> section (and for options set only in code, whose
/// messages keep the names they always had).
/// </summary>
internal sealed class OtpConfigurationSection(string name)
{
    public static OtpConfigurationSection Legacy { get; } = new(OtpVerificationOptions.LegacySectionName);

    public string Name { get; } = name;

    /// <summary>The messages are written with the old prefix; this puts the section's own in.</summary>
    public string Rewrite(string message)
        => string.Equals(Name, OtpVerificationOptions.LegacySectionName, StringComparison.Ordinal)
            ? message
            : message.Replace(OtpVerificationOptions.LegacySectionName + ":", Name + ":", StringComparison.Ordinal);

    public ValidateOptionsResult Rewrite(ValidateOptionsResult result)
        => result.Failed ? ValidateOptionsResult.Fail(result.Failures.Select(Rewrite)) : result;

    public static OtpConfigurationSection Of(IServiceProvider services) => services.GetService<OtpConfigurationSection>() ?? Legacy;
}

/// <summary>The DataAnnotations rules of <see cref="OtpVerificationOptions"/>, their messages naming the section used.</summary>
internal sealed class OtpVerificationOptionsAnnotationsValidator(IServiceProvider services) : IValidateOptions<OtpVerificationOptions>
{
    private readonly DataAnnotationValidateOptions<OtpVerificationOptions> _inner = new(Options.DefaultName);

    public ValidateOptionsResult Validate(string? name, OtpVerificationOptions options)
        => OtpConfigurationSection.Of(services).Rewrite(_inner.Validate(name, options));
}
