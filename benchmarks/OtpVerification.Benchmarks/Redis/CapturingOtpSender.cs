using System.Collections.Concurrent;
using OtpVerification.Senders;

namespace OtpVerification.Benchmarks.Redis;

/// <summary>Keeps the last code sent to each address, so the report can verify with the right one.</summary>
internal sealed class CapturingOtpSender : IOtpSender
{
    private readonly ConcurrentDictionary<string, string> _codes = new(StringComparer.Ordinal);

    public OtpChannel Channel => OtpChannel.Email;

    public string CodeFor(string address) => _codes[address];

    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        _codes[message.To] = message.Code;
        return ValueTask.CompletedTask;
    }
}
