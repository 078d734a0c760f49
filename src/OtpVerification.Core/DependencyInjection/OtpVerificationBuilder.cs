using Microsoft.Extensions.DependencyInjection;

namespace OtpVerification;

/// <summary>A builder for the OtpVerification services; store and sender extensions hang off it.</summary>
public interface IOtpVerificationBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

/// <summary>The builder returned by <see cref="OtpVerificationServiceCollectionExtensions.AddOtpVerification(IServiceCollection, Action{OtpVerificationOptions}?)"/>.</summary>
public sealed class OtpVerificationBuilder : IOtpVerificationBuilder
{
    internal OtpVerificationBuilder(IServiceCollection services) => Services = services;

    /// <inheritdoc />
    public IServiceCollection Services { get; }
}
