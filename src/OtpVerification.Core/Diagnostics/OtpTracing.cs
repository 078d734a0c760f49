using System.Diagnostics;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace OtpVerification.Diagnostics;

/// <summary>
/// The engine's traces, on the <see cref="ActivitySource"/> named <see cref="ActivitySourceName"/>:
/// one span per start, resend and verify (<c>otp.start</c>, <c>otp.resend</c>, <c>otp.verify</c>),
/// one per store call (<c>otp.store.*</c>) and one per message handed to a sender (<c>otp.send</c>).
/// Tags carry the purpose, channel, outcome and at most a masked address: never a code, a hash,
/// a flow id or a password. Spans are only created when a listener (OpenTelemetry's
/// <c>AddSource("OtpVerification")</c>, <c>dotnet-trace</c>) asks for them.
/// </summary>
public static class OtpTracing
{
    /// <summary>The name of the activity source, also the meter's (<see cref="OtpMetrics.MeterName"/>).</summary>
    public const string ActivitySourceName = "OtpVerification";

    /// <summary>The tag holding the purpose: <c>signup</c>, <c>password_reset</c>, …</summary>
    public const string PurposeTag = "otp.purpose";

    /// <summary>The tag holding the channel: <c>email</c> or <c>sms</c>.</summary>
    public const string ChannelTag = "otp.channel";

    /// <summary>The tag holding the outcome: the contract's snake_case name (<c>accepted</c>, <c>invalid_code</c>, …) or, for a send, <c>delivered</c> / <c>failed</c>.</summary>
    public const string OutcomeTag = "otp.outcome";

    /// <summary>The tag holding a masked address (<c>a•••@example.com</c>), never a full one.</summary>
    public const string MaskedAddressTag = "otp.address.masked";

    /// <summary>The tag holding the store operation (<c>create_or_replace</c>, <c>verify_and_consume</c>, …).</summary>
    public const string StoreOperationTag = "otp.store.operation";

    internal static readonly ActivitySource Source = new(ActivitySourceName, typeof(OtpTracing).Assembly.GetName().Version?.ToString());

    internal static Activity? StartEngine(string operation, OtpPurpose purpose, OtpChannel? channel = null)
    {
        // Without a listener there is no span: no name is built either (a start must not allocate for it).
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("otp." + operation, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(PurposeTag, OtpNames.Purpose(purpose));
            if (channel is { } c)
            {
                activity.SetTag(ChannelTag, OtpNames.Channel(c));
            }
        }

        return activity;
    }

    internal static void Finish(Activity? activity, OtpOutcome outcome)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(OutcomeTag, OtpMetrics.OutcomeName(outcome));
        if (outcome == OtpOutcome.Unavailable)
        {
            activity.SetStatus(ActivityStatusCode.Error, "unavailable");
        }
    }

    internal static void Fail(Activity? activity, Exception exception)
    {
        // The type only: an exception's text may quote what it was given.
        activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        activity?.SetTag("error.type", exception.GetType().FullName);
    }
}

/// <summary>Wraps the engine's store so that every call is a <c>otp.store.*</c> span (tags: operation, purpose, outcome).</summary>
/// <remarks>Its methods pool their state machines: only the engine awaits them, once each.</remarks>
internal sealed class TracedPendingRegistrationStore(IPendingRegistrationStore inner) : IPendingRegistrationStore
{
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("create_or_replace", registration?.Key.Purpose);
        try
        {
            var result = await inner.CreateOrReplaceAsync(registration!, policy, now, cancellationToken).ConfigureAwait(false);
            return Done(activity, result);
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("reserve_send", key.Purpose);
        try
        {
            return Done(activity, await inner.ReserveSendAsync(key, policy, now, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("resend", key.Purpose);
        try
        {
            return Done(activity, await inner.ResendAsync(key, code, policy, now, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
    {
        using var activity = Start("redirect", key.Purpose);
        try
        {
            return Done(activity, await inner.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("verify_and_consume", key.Purpose);
        try
        {
            var result = await inner.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(OtpTracing.OutcomeTag, Name(result.Status.ToString()));
            return result;
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
    {
        using var activity = Start("cancel_send", key.Purpose);
        try
        {
            await inner.CancelSendAsync(key, codeHash, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(OtpTracing.OutcomeTag, "done");
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("put_back", registration?.Key.Purpose);
        try
        {
            return Done(activity, await inner.PutBackAsync(registration!, now, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    public async ValueTask<bool> ConsumeOnceAsync(PendingKey key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var activity = Start("consume_once", key.Purpose);
        try
        {
            return Done(activity, await inner.ConsumeOnceAsync(key, expiresAt, now, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }


    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default)
    {
        using var activity = Start("delete", key.Purpose);
        try
        {
            return Done(activity, await inner.DeleteAsync(key, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }

    private static Activity? Start(string operation, OtpPurpose? purpose)
    {
        if (!OtpTracing.Source.HasListeners())
        {
            return null;
        }

        var activity = OtpTracing.Source.StartActivity("otp.store." + operation, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(OtpTracing.StoreOperationTag, operation);
            if (purpose is { } p)
            {
                activity.SetTag(OtpTracing.PurposeTag, OtpNames.Purpose(p));
            }
        }

        return activity;
    }

    private static SendGateResult Done(Activity? activity, SendGateResult result)
    {
        activity?.SetTag(OtpTracing.OutcomeTag, Name(result.Status.ToString()));
        return result;
    }

    private static bool Done(Activity? activity, bool result)
    {
        activity?.SetTag(OtpTracing.OutcomeTag, result ? "done" : "unchanged");
        return result;
    }

    /// <summary>PascalCase enum name to snake_case (<c>CapacityExceeded</c> → <c>capacity_exceeded</c>).</summary>
    private static string Name(string value)
    {
        var builder = new System.Text.StringBuilder(value.Length + 4);
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsUpper(value[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(value[i]));
        }

        return builder.ToString();
    }
}

/// <summary>Wraps a sender so that every message handed to it is an <c>otp.send</c> span (tags: purpose, channel, masked address, outcome).</summary>
internal sealed class TracedOtpSender(IOtpSender inner) : IOtpSender
{
    public OtpChannel Channel => inner.Channel;

    public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var activity = OtpTracing.Source.StartActivity("otp.send", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(OtpTracing.PurposeTag, OtpNames.Purpose(message.Purpose));
            activity.SetTag(OtpTracing.ChannelTag, OtpNames.Channel(message.Channel));
            activity.SetTag(OtpTracing.MaskedAddressTag, OtpAddress.Mask(message.To));
        }

        try
        {
            await inner.SendAsync(message, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(OtpTracing.OutcomeTag, "delivered");
        }
        catch (Exception ex)
        {
            activity?.SetTag(OtpTracing.OutcomeTag, "failed");
            OtpTracing.Fail(activity, ex);
            throw;
        }
    }
}
