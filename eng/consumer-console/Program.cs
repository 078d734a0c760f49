// A console (worker-style) app built only from OtpVerification.Core and Microsoft.Extensions.* 10.0.0:
// it starts a verification with the in-memory store, checks a wrong code is refused, verifies the
// right one, and checks the code cannot be used twice. Exit code 0 and "PASS" on success.
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OtpVerification;
using OtpVerification.Senders;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOtpVerification(options => options.Messages.AppName = "Console consumer")
    .AddSender<OtpVerificationBuilder, InboxSender>();
builder.Services.AddSingleton<Inbox>();

using var host = builder.Build();
await host.StartAsync(); // validates the options (ValidateOnStart)

var engine = host.Services.GetRequiredService<OtpEngine>();
var inbox = host.Services.GetRequiredService<Inbox>();
const string address = "worker@example.com";

var failures = new List<string>();
void Check(bool condition, string what)
{
    Console.WriteLine($"   {(condition ? "ok  " : "FAIL")} {what}");
    if (!condition)
    {
        failures.Add(what);
    }
}

var start = await engine.StartAsync(new OtpStartRequest
{
    Purpose = OtpPurpose.Signup,
    Address = address,
    Destinations = [new OtpDestination(OtpChannel.Email, address)],
});
Check(start.Outcome == OtpOutcome.Accepted, $"start -> {start.Outcome}");

var code = inbox.LastCodeFor(address);
Check(code is { Length: 6 }, "the sender received a 6-digit code");
code ??= "000000";

var wrong = $"{(code[0] - '0' + 1) % 10}{code[1..]}";
var refused = await engine.VerifyAsync(OtpPurpose.Signup, address, start.FlowId!, wrong, deviceId: null);
Check(refused.Outcome == OtpOutcome.InvalidCode, $"verify with a wrong code -> {refused.Outcome}");

var verified = await engine.VerifyAsync(OtpPurpose.Signup, address, start.FlowId!, code, deviceId: null);
Check(verified.Outcome == OtpOutcome.Verified, $"verify with the right code -> {verified.Outcome}");

var again = await engine.VerifyAsync(OtpPurpose.Signup, address, start.FlowId!, code, deviceId: null);
Check(again.Outcome != OtpOutcome.Verified, $"the same code a second time -> {again.Outcome}");

await host.StopAsync();

Console.WriteLine(failures.Count == 0 ? "console consumer: PASS" : $"console consumer: FAIL ({failures.Count} checks)");
return failures.Count == 0 ? 0 : 1;

/// <summary>Where <see cref="InboxSender"/> delivers: the last code per address, in memory.</summary>
internal sealed class Inbox
{
    private readonly ConcurrentDictionary<string, string> _codes = new(StringComparer.Ordinal);

    public void Deliver(string to, string code) => _codes[to] = code;

    public string? LastCodeFor(string to) => _codes.TryGetValue(to, out var code) ? code : null;
}

/// <summary>The app's own email sender (a worker would call its mail service here).</summary>
internal sealed class InboxSender(Inbox inbox) : IOtpSender
{
    public OtpChannel Channel => OtpChannel.Email;

    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
    {
        inbox.Deliver(message.To, message.Code);
        return ValueTask.CompletedTask;
    }
}
