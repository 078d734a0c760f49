using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore.Tests.Hosting;

/// <summary>A store whose backing service is down: every operation fails with <see cref="OtpStoreUnavailableException"/>.</summary>
public sealed class UnavailableStore : IPendingRegistrationStore
{
    /// <inheritdoc />
    public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Down<SendGateResult>();

    /// <inheritdoc />
    public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Down<SendGateResult>();

    /// <inheritdoc />
    public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Down<SendGateResult>();

    /// <inheritdoc />
    public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default) => Down<bool>();

    /// <inheritdoc />
    public ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default) => Down<StoreVerifyResult>();

    /// <inheritdoc />
    public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
        => ValueTask.FromException(new OtpStoreUnavailableException("Test store is down."));

    /// <inheritdoc />
    public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default) => Down<bool>();

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default) => Down<bool>();

    private static ValueTask<T> Down<T>() => ValueTask.FromException<T>(new OtpStoreUnavailableException("Test store is down."));
}

/// <summary>Which channels the <see cref="SwitchableSender"/>s treat as down.</summary>
public sealed class SenderSwitch
{
    /// <summary>Whether email delivery fails.</summary>
    public bool EmailDown { get; set; }

    /// <summary>Whether SMS delivery fails.</summary>
    public bool SmsDown { get; set; }

    /// <summary>Whether <paramref name="channel"/> is down.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns><see langword="true"/> when it is down.</returns>
    public bool IsDown(OtpChannel channel) => channel == OtpChannel.Sms ? SmsDown : EmailDown;
}

/// <summary>Delivers to the development outbox, or throws <see cref="OtpDeliveryException"/> while its channel is switched off.</summary>
/// <param name="inner">The working sender.</param>
/// <param name="state">The switch.</param>
public sealed class SwitchableSender(IOtpSender inner, SenderSwitch state) : IOtpSender
{
    /// <inheritdoc />
    public OtpChannel Channel => inner.Channel;

    /// <inheritdoc />
    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        => state.IsDown(Channel)
            ? ValueTask.FromException(new OtpDeliveryException("Test sender is down."))
            : inner.SendAsync(message, cancellationToken);
}

/// <summary>The sample with its pending-registration store down.</summary>
public sealed class StoreDownSampleAppFactory : SampleAppFactory
{
    /// <summary>Creates the factory.</summary>
    public StoreDownSampleAppFactory()
        => WithServices(services => services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore, UnavailableStore>()));
}

/// <summary>The sample with senders that tests can switch off per channel (<see cref="Senders"/>).</summary>
public sealed class SwitchableSendersSampleAppFactory : SampleAppFactory
{
    /// <summary>Creates the factory.</summary>
    public SwitchableSendersSampleAppFactory()
        => WithServices(services =>
        {
            // Registered after the outbox senders, so these take over both channels.
            foreach (var channel in new[] { OtpChannel.Email, OtpChannel.Sms })
            {
                services.AddSingleton<IOtpSender>(sp => new SwitchableSender(
                    new DevOutboxSender(channel, sp.GetRequiredService<DevOutbox>(), sp.GetRequiredService<IOtpMessageFormatter>(), sp.GetRequiredService<ILogger<DevOutboxSender>>()),
                    Senders));
            }
        });

    /// <summary>The switch: set a channel down to make its sender throw.</summary>
    public SenderSwitch Senders { get; } = new();
}
