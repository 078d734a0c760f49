using OtpVerification.Senders;

namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>A sender that does no work, so engine figures exclude delivery.</summary>
internal sealed class NullOtpSender : IOtpSender
{
    public OtpChannel Channel => OtpChannel.Email;

    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
