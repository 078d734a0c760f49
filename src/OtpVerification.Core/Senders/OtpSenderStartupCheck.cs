using Microsoft.Extensions.Hosting;

namespace OtpVerification.Senders;

/// <summary>
/// Stops the host at start-up when no email sender is registered (outside Development the
/// development outbox does not exist, and an app that cannot send codes must not look healthy),
/// and at shutdown lets the deliveries still in flight finish.
/// </summary>
internal sealed class OtpSenderStartupCheck(IEnumerable<IOtpSender?> senders, OtpEngine engine) : IHostedService
{
    /// <summary>The configuration key the sample and the README use for the SMTP server.</summary>
    public const string EmailSenderKey = "Smtp:Host";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!senders.Any(s => s is { Channel: OtpChannel.Email }))
        {
            throw new InvalidOperationException(
                $"OtpVerification has no email sender: outside the Development environment the development outbox is not used. "
                + $"Configure one ({EmailSenderKey}, with AddMailKitSender(configuration.GetSection(\"Smtp\"))), or register your own IOtpSender for the email channel.");
        }

        return Task.CompletedTask;
    }

    /// <summary>Lets the codes still being delivered after their answer go out before the host stops.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => engine.WhenDeliveredAsync().WaitAsync(cancellationToken);
}
