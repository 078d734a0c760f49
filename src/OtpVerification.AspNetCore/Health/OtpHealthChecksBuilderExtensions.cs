using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OtpVerification.AspNetCore.Health;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the OtpVerification health check to the health-checks builder.</summary>
public static class OtpHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the pending-registration store registered with <c>AddOtpSignup…</c>:
    /// Healthy when it answers (Redis: a <c>PING</c> through the store's connection), the
    /// <paramref name="failureStatus"/> (Unhealthy by default) when it does not. For the in-memory
    /// store, Degraded once its fill level passes <see cref="OtpStoreHealthCheckOptions.DegradedFillRatio"/>
    /// of <c>OtpSignup:MaxPendingEntries</c>. Map it with <c>app.MapHealthChecks("/healthz")</c>:
    /// 200 when Healthy or Degraded, 503 when Unhealthy.
    /// </summary>
    /// <param name="builder">The health-checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name; <c>otp-store</c> by default.</param>
    /// <param name="failureStatus">The status reported when the store does not answer; Unhealthy by default.</param>
    /// <param name="tags">Tags to filter checks by (e.g. <c>ready</c>).</param>
    /// <param name="configure">Changes the fill ratio or the time-out.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="name"/> is null.</exception>
    public static IHealthChecksBuilder AddOtpStoreHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "otp-store",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        Action<OtpStoreHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        var options = builder.Services.AddOptions<OtpStoreHealthCheckOptions>(name)
            .Validate(o => o.DegradedFillRatio is > 0 and <= 1, $"OtpStoreHealthCheckOptions.DegradedFillRatio of the health check '{name}' must be above 0 and at most 1.")
            .Validate(o => o.Timeout > TimeSpan.Zero, $"OtpStoreHealthCheckOptions.Timeout of the health check '{name}' must be positive.");
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<OtpStoreHealthCheck>();
        return builder.Add(new HealthCheckRegistration(name, static sp => sp.GetRequiredService<OtpStoreHealthCheck>(), failureStatus, tags));
    }
}
