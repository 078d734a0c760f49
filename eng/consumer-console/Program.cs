// A console (worker-style) app built from OtpVerification.Core, .Twilio and .MailKit on
// Microsoft.Extensions.* 10.0.0, without ASP.NET Core: it starts a verification with the in-memory
// store, checks a wrong code is refused, verifies the right one, and checks the code cannot be used
// twice; then does the same by SMS through the Twilio sender (its typed HttpClient answered by a
// fake handler: no network). Exit code 0 and "PASS" on success.
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OtpVerification;
using OtpVerification.Senders;
using OtpVerification.Twilio;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOtpVerification(options => options.Messages.AppName = "Console consumer")
    .AddSender<OtpVerificationBuilder, InboxSender>()
    .AddTwilioSmsSender(o =>
    {
        o.AccountSid = "AC0123456789abcdef0123456789abcdef";
        o.AuthToken = "console-consumer-token";
        o.From = "+14155550100";
    });
builder.Services.AddSingleton<Inbox>();
// Twilio's API played by a handler that reads the code out of the form body into the inbox.
builder.Services.AddHttpClient(TwilioSmsOptions.HttpClientName)
    .ConfigurePrimaryHttpMessageHandler(sp => new FakeTwilio(sp.GetRequiredService<Inbox>()));
// MailKit is installed too (its registration is the app's choice: here only its options type is touched).
_ = typeof(OtpVerification.MailKit.MailKitSenderOptions);

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

const string phone = "+14155550123";
var smsStart = await engine.StartAsync(new OtpStartRequest
{
    Purpose = OtpPurpose.Signup,
    Address = phone,
    Destinations = [new OtpDestination(OtpChannel.Sms, phone)],
});
Check(smsStart.Outcome == OtpOutcome.Accepted, $"start by SMS (Twilio) -> {smsStart.Outcome}");
var smsCode = inbox.LastCodeFor(phone);
Check(smsCode is { Length: 6 }, "Twilio received the SMS with a 6-digit code");
var smsVerified = await engine.VerifyAsync(OtpPurpose.Signup, phone, smsStart.FlowId ?? "", smsCode ?? "000000", deviceId: null);
Check(smsVerified.Outcome == OtpOutcome.Verified, $"verify the SMS code -> {smsVerified.Outcome}");

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

/// <summary>Twilio's Messages API for the test: takes the code out of the form body, answers 201.</summary>
internal sealed class FakeTwilio(Inbox inbox) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var form = System.Web.HttpUtility.ParseQueryString(await request.Content!.ReadAsStringAsync(cancellationToken));
        var code = System.Text.RegularExpressions.Regex.Match(form["Body"] ?? "", @"\b\d{6}\b").Value;
        inbox.Deliver(form["To"] ?? "", code);
        return new HttpResponseMessage(System.Net.HttpStatusCode.Created)
        {
            Content = new StringContent("""{"sid":"SM00000000000000000000000000000000"}""", System.Text.Encoding.UTF8, "application/json"),
        };
    }
}
