using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore.Health;

/// <summary>
/// Whether the pending-registration store answers. A store implementing
/// <see cref="IOtpStoreHealth"/> is pinged (Redis: <c>PING</c>); another is probed with a delete
/// of a key no registration uses. The in-memory store always answers; it is Degraded when its fill
/// level passes <see cref="OtpStoreHealthCheckOptions.DegradedFillRatio"/> of
/// <c>OtpSignup:MaxPendingEntries</c> (past it, registrations are evicted) or of
/// <c>OtpSignup:MaxLimitRecords</c> (at it, new addresses and clients are refused).
/// </summary>
internal sealed class OtpStoreHealthCheck(IPendingRegistrationStore store, IOptionsMonitor<OtpVerificationOptions> signupOptions, IOptionsMonitor<OtpStoreHealthCheckOptions> options) : IHealthCheck
{
    private static readonly PendingKey ProbeKey = new(OtpPurpose.Signup, "health:probe");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = options.Get(context.Registration.Name);
        if (store is InMemoryPendingRegistrationStore memory)
        {
            // Two caps (issue 18): past MaxPendingEntries the registrations nearest their expiry are
            // evicted; at MaxLimitRecords new addresses and clients are refused (503).
            var signup = signupOptions.CurrentValue;
            var pending = memory.PendingCount;
            var records = memory.Count;
            var pendingCap = signup.MaxPendingEntries;
            var recordsCap = signup.LimitRecordsCap;
            var data = new Dictionary<string, object>
            {
                ["store"] = "memory",
                ["entries"] = pending,
                ["capacity"] = pendingCap,
                ["limitRecords"] = records,
                ["limitRecordsCapacity"] = recordsCap,
            };
            var summary = string.Create(CultureInfo.InvariantCulture, $"The in-memory store holds {pending} of {pendingCap} pending registrations (OtpSignup:MaxPendingEntries) and {records} of {recordsCap} limit records (OtpSignup:MaxLimitRecords).");
            if ((double)records / recordsCap >= settings.DegradedFillRatio)
            {
                return HealthCheckResult.Degraded(summary + " At OtpSignup:MaxLimitRecords new addresses and clients are refused (503): raise it, or use a distributed store.", data: data);
            }

            if ((double)pending / pendingCap >= settings.DegradedFillRatio)
            {
                return HealthCheckResult.Degraded(summary + " At OtpSignup:MaxPendingEntries the registrations nearest their expiry are evicted (their owners start again): raise it, or use a distributed store.", data: data);
            }

            return HealthCheckResult.Healthy(summary, data);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Timeout);
        var name = store.GetType().Name;
        try
        {
            if (store is IOtpStoreHealth health)
            {
                await health.PingAsync(timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await store.DeleteAsync(ProbeKey, timeout.Token).ConfigureAwait(false);
            }

            return HealthCheckResult.Healthy($"The pending-registration store ({name}) answers.", new Dictionary<string, object> { ["store"] = name });
        }
        catch (OtpStoreUnavailableException ex)
        {
            // The type only: a store's message may name a host; the exception stays for the app's own writer.
            return new HealthCheckResult(context.Registration.FailureStatus, $"The pending-registration store ({name}) does not answer.", ex, new Dictionary<string, object> { ["store"] = name });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, string.Create(CultureInfo.InvariantCulture, $"The pending-registration store ({name}) did not answer within {settings.Timeout.TotalSeconds} s."), data: new Dictionary<string, object> { ["store"] = name });
        }
    }
}

/// <summary>Settings of the health check added by <c>AddOtpStoreHealthCheck()</c>, named after its registration.</summary>
public sealed class OtpStoreHealthCheckOptions
{
    /// <summary>
    /// The fill level of the in-memory store (pending registrations / <c>OtpSignup:MaxPendingEntries</c>,
    /// or limit records / <c>OtpSignup:MaxLimitRecords</c>) from which the check reports Degraded; 0.9 by default.
    /// </summary>
    public double DegradedFillRatio { get; set; } = 0.9;

    /// <summary>How long to wait for a distributed store to answer before reporting it down; 5 seconds by default.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
