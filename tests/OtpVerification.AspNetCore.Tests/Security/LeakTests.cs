using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Diagnostics;
using OtpVerification.Sample.Data;
using OtpVerification.Senders;
using OtpVerification.Testing;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Codes leaking into logs, responses, metrics". Extends
/// <c>Requests/SecretLeakTests</c> (codes and passwords in responses and logs of the email
/// journey) with the SMS channel, the 503 and validation paths, the enumeration-hiding path,
/// every log category at Trace (scopes included), metrics (every meter), the stored hashes
/// (the codes' HMAC under the configured HashKey, hex and base64; Identity's password hashes),
/// and addresses: only ever masked in logs.
/// </summary>
public sealed partial class LeakTests(LeakTests.Journey journey) : IClassFixture<LeakTests.Journey>
{
    [Fact]
    public void Logs_WholeJourneyAtTrace_ContainNoCodePasswordOrHash()
    {
        journey.Logs.Should().HaveCountGreaterThan(100, "every category logs at Trace");

        journey.Logs.Select(e => e.AllText()).Should().NotContain(e => journey.Leaks(e) != null, "no log line may carry a secret; found {0}", journey.FirstLeak(journey.Logs.Select(e => e.AllText())));
    }

    [Fact]
    public void Responses_WholeJourney_ContainNoCodePasswordOrHash()
    {
        journey.Responses.Should().HaveCountGreaterThan(20);

        journey.Responses.Should().NotContain(r => journey.Leaks(r) != null, "no response may carry a secret; found {0}", journey.FirstLeak(journey.Responses));
    }

    [Fact]
    public void Metrics_WholeJourney_ContainNoCodePasswordHashOrAddress()
    {
        journey.Measurements.Should().Contain(m => m.StartsWith(OtpMetrics.MeterName + " otp_verification.verifications", StringComparison.Ordinal), "the listener saw the library's meter");

        journey.Measurements.Should().NotContain(m => journey.Leaks(m) != null || journey.Addresses.Any(a => m.Contains(a, StringComparison.OrdinalIgnoreCase)), "no measurement may carry a secret or an address; found {0}", journey.FirstLeak(journey.Measurements));
    }

    [Fact]
    public void Metrics_LibraryMeter_CarriesOnlyPurposeChannelAndOutcomeTags()
    {
        var tagKeys = journey.LibraryTagKeys;

        tagKeys.Should().NotBeEmpty().And.BeSubsetOf(["purpose", "channel", "outcome"]);
    }

    [Fact]
    public void Logs_WholeJourney_NeverHoldAFullAddress()
    {
        journey.Logs.Should().NotContain(e => journey.Addresses.Any(a => e.AllText().Contains(a, StringComparison.OrdinalIgnoreCase)), "addresses are only logged masked");
    }

    [Fact]
    public void Logs_WholeJourney_HoldMaskedAddresses()
    {
        var text = string.Join('\n', journey.Logs.Select(e => e.AllText()));

        text.Should().Contain(OtpAddress.Mask(journey.EmailUser), "the library logs who it sent to, masked");
        text.Should().Contain(OtpAddress.Mask(journey.FallbackPhone), "a failed SMS is logged with the number masked");
    }

    [Fact]
    public void Journey_CoveredEveryPath_WithTheExpectedAnswers()
    {
        // Guards the other tests: the journey took the paths it claims (a leak test over a broken journey proves little).
        journey.Statuses.Should().Contain([200, 202, 204, 400, 401, 503]);
        journey.Codes.Should().HaveCountGreaterThanOrEqualTo(7);
        journey.PasswordHashes.Should().HaveCount(2).And.OnlyContain(h => h.Length > 20);
    }

    /// <summary>
    /// Runs the journey once: signup by email and SMS with wrong codes and a resend, a failed SMS
    /// with email fallback, a start for a registered address, login, password reset with a weak
    /// and a wrong attempt, validation failures, and sender failures (503), every sender exception
    /// quoting the code and the address.
    /// </summary>
    public sealed partial class Journey : IAsyncLifetime
    {
        private const string Password = "Le4k-Check-Passw0rd!";
        private const string SmsPassword = "Sms-Le4k-Passw0rd?";
        private const string FailedPassword = "Fa1led-Send-Passw0rd#";
        private const string NewPassword = "Brand-N3w-Le4k-Passw0rd";
        private const string WeakPassword = "weakleakpassword";
        private const string WrongLoginPassword = "Wr0ng-Login-Passw0rd!";

        private readonly string _hashKey = TwoInstances.NewHashKey();
        private readonly CapturingLoggerProvider _capture = new();
        private readonly ConcurrentQueue<string> _measurements = new();
        private readonly ConcurrentQueue<string> _libraryTagKeys = new();
        private readonly RecordingSender _email = new(OtpChannel.Email);
        private readonly RecordingSender _sms = new(OtpChannel.Sms);
        private readonly ConcurrentQueue<string> _failedCodes = new();
        private readonly List<string> _responses = [];
        private readonly List<int> _statuses = [];
        private readonly SampleAppFactory _app = new();
        private MeterListener? _listener;
        private string[] _secrets = [];
        private string[] _hashes = [];

        /// <summary>The address that signs up by email, logs in and resets its password.</summary>
        public string EmailUser { get; } = TestData.Email("leak-user");

        /// <summary>The phone of the SMS signup.</summary>
        public string Phone { get; } = "+14155550199";

        /// <summary>The phone whose SMS fails (the code then goes by email).</summary>
        public string FallbackPhone { get; } = "+14155550177";

        /// <summary>Every address used.</summary>
        public IReadOnlyList<string> Addresses { get; private set; } = [];

        /// <summary>Every log entry.</summary>
        public IReadOnlyList<CapturedLog> Logs => _capture.Entries;

        /// <summary>Every response: headers, content headers and body.</summary>
        public IReadOnlyList<string> Responses => _responses;

        /// <summary>Every HTTP status seen.</summary>
        public IReadOnlyList<int> Statuses => _statuses;

        /// <summary>Every measurement on every meter: meter, instrument, value and tags.</summary>
        public IReadOnlyCollection<string> Measurements => _measurements;

        /// <summary>The tag keys of this app's own <c>OtpVerification</c> meter.</summary>
        public IReadOnlySet<string> LibraryTagKeys => _libraryTagKeys.ToHashSet(StringComparer.Ordinal);

        /// <summary>Every code generated, delivered or not.</summary>
        public IReadOnlyList<string> Codes { get; private set; } = [];

        /// <summary>Identity's stored password hashes of the created users.</summary>
        public IReadOnlyList<string> PasswordHashes { get; private set; } = [];

        /// <summary>The secret <paramref name="text"/> holds, or null.</summary>
        /// <param name="text">Any captured text.</param>
        /// <returns>The secret found.</returns>
        public string? Leaks(string text)
        {
            ArgumentNullException.ThrowIfNull(text);
            var hash = _hashes.FirstOrDefault(h => text.Contains(h, StringComparison.Ordinal));
            if (hash is not null)
            {
                return "hash " + hash;
            }

            // Codes are short digit strings: match them whole, after removing trace and span ids
            // (long hex runs) where six digits in a row turn up by chance.
            var withoutIds = LongHex().Replace(text, "#");
            return _secrets.FirstOrDefault(s => s.All(char.IsAsciiDigit)
                ? Regex.IsMatch(withoutIds, $"(?<![0-9]){s}(?![0-9])")
                : text.Contains(s, StringComparison.Ordinal));
        }

        /// <summary>Describes the first leaking text, for failure messages.</summary>
        /// <param name="texts">The texts.</param>
        /// <returns>The description.</returns>
        public string FirstLeak(IEnumerable<string> texts)
        {
            foreach (var text in texts)
            {
                if (Leaks(text) is { } secret)
                {
                    return $"'{secret}' in: {text}";
                }
            }

            return "(nothing)";
        }

        /// <inheritdoc />
        public async Task InitializeAsync()
        {
            _listener = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
            _listener.SetMeasurementEventCallback<byte>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<short>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<float>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Measure(i, v, t));
            _listener.SetMeasurementEventCallback<decimal>((i, v, t, _) => Measure(i, v, t));
            _listener.Start();

            _app.WithSetting("OtpSignup:Code:HashKey", _hashKey)
                .WithSetting("OtpSignup:Abuse:SmsCountryCodes:0", "1")
                .WithServices(services =>
                {
                    services.RemoveAll<ILoggerProvider>();
                    services.AddSingleton<ILoggerProvider>(_capture);
                    services.PostConfigure<LoggerFilterOptions>(o =>
                    {
                        o.Rules.Clear();
                        o.MinLevel = LogLevel.Trace;
                    });
                })
                .WithSender(_email)
                .WithSender(_sms);
            await RunAsync();
            _listener.RecordObservableInstruments();
        }

        /// <inheritdoc />
        public async Task DisposeAsync()
        {
            _listener?.Dispose();
            await _app.DisposeAsync();
        }

        [GeneratedRegex("[0-9a-fA-F]{16,}")]
        private static partial Regex LongHex();

        private async Task RunAsync()
        {
            var client = _app.CreateClient();
            var smsUser = TestData.Email("leak-sms");
            var failedUser = TestData.Email("leak-failed");
            var resendFailedUser = TestData.Email("leak-resend-failed");
            var smsFallbackUser = TestData.Email("leak-sms-fallback");
            Addresses = [EmailUser, smsUser, failedUser, resendFailedUser, smsFallbackUser, Phone, Phone[1..], FallbackPhone, FallbackPhone[1..]];

            // Validation paths.
            await Call(client.StartSignupAsync(EmailUser, WeakPassword), 400);
            await Call(client.StartSignupAsync(EmailUser, Password, phone: "+33612345678", channel: "sms"), 400);
            await Call(client.StartSignupAsync("not-an-email", Password), 400);

            // Signup by email: a wrong code, a resend, the right code.
            await Call(client.StartSignupAsync(EmailUser, Password), 202);
            await Call(client.VerifySignupAsync(EmailUser, TestData.WrongCode(LastCode(_email, EmailUser))), 400);
            _app.Clock.Advance(TimeSpan.FromSeconds(61));
            await Call(client.ResendSignupAsync(EmailUser), 202);
            await Call(client.VerifySignupAsync(EmailUser, LastCode(_email, EmailUser)), 200);

            // Signup by SMS.
            await Call(client.StartSignupAsync(smsUser, SmsPassword, phone: Phone, channel: "sms"), 202);
            await Call(client.VerifySignupAsync(smsUser, TestData.WrongCode(LastCode(_sms, Phone))), 400);
            await Call(client.VerifySignupAsync(smsUser, LastCode(_sms, Phone)), 200);

            // The SMS sender fails (its exception quotes the code and the number): email fallback.
            _sms.FailWith(m =>
            {
                _failedCodes.Enqueue(m.Code);
                return new OtpDeliveryException($"SMS gateway refused {m.To}: {m.Code}.");
            });
            await Call(client.StartSignupAsync(smsFallbackUser, SmsPassword, phone: FallbackPhone, channel: "sms"), 202);
            _sms.Succeed();

            // A start for a registered address (answered as for a new one, nothing sent).
            _app.Clock.Advance(TimeSpan.FromSeconds(61));
            await Call(client.StartSignupAsync(EmailUser, Password), 202);
            await Call(client.LoginAsync(EmailUser, Password), 200);
            await Call(client.LoginAsync(EmailUser, WrongLoginPassword), 401);

            // Password reset: weak, wrong, right.
            await Call(client.StartPasswordResetAsync(EmailUser), 202);
            await _app.Services.GetRequiredService<OtpEngine>().WhenDeliveredAsync(); // reset answers before its message goes out
            var resetCode = LastCode(_email, EmailUser);
            await Call(client.CompletePasswordResetAsync(EmailUser, resetCode, WeakPassword), 400);
            await Call(client.CompletePasswordResetAsync(EmailUser, TestData.WrongCode(resetCode), NewPassword), 400);
            await Call(client.CompletePasswordResetAsync(EmailUser, resetCode, NewPassword), 204);
            await Call(client.LoginAsync(EmailUser, NewPassword), 200);

            // Senders down: the exception text quotes the code and the address.
            _email.FailWith(m =>
            {
                _failedCodes.Enqueue(m.Code);
                return new OtpDeliveryException($"Relay refused the message to {m.To} with code {m.Code}.");
            });
            await Call(client.StartSignupAsync(failedUser, FailedPassword), 503);
            _app.Clock.Advance(TimeSpan.FromSeconds(61));
            await Call(client.StartPasswordResetAsync(EmailUser), 202); // reset hides an outage like it hides accounts
            _email.Succeed();
            await Call(client.StartSignupAsync(resendFailedUser, FailedPassword), 202);
            _app.Clock.Advance(TimeSpan.FromSeconds(61));
            _email.FailWith(m =>
            {
                _failedCodes.Enqueue(m.Code);
                return new OtpDeliveryException($"Relay refused the message to {m.To} with code {m.Code}.");
            });
            await Call(client.ResendSignupAsync(resendFailedUser), 503);
            _email.Succeed();

            Codes = [.. _email.Messages.Select(m => m.Code), .. _sms.Messages.Select(m => m.Code), .. _failedCodes];
            PasswordHashes = await ReadPasswordHashesAsync([EmailUser], [Phone]); // the SMS signup's account is its phone's
            _secrets = [.. Codes, Password, SmsPassword, FailedPassword, NewPassword, WeakPassword, WrongLoginPassword, .. PasswordHashes];
            _hashes = [.. CodeHashes(Codes, [EmailUser, smsUser, failedUser, resendFailedUser, smsFallbackUser, Phone, FallbackPhone])];
        }

        private IEnumerable<string> CodeHashes(IEnumerable<string> codes, string[] addresses)
        {
            var hasher = new HmacOtpCodeHasher(Convert.FromBase64String(_hashKey));
            foreach (var code in codes)
            {
                foreach (var purpose in Enum.GetValues<OtpPurpose>())
                {
                    foreach (var address in addresses)
                    {
                        var hash = hasher.Hash(purpose, address, code);
                        yield return Convert.ToHexString(hash);
                        yield return Convert.ToHexStringLower(hash);
                        yield return Convert.ToBase64String(hash);
                        yield return Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                    }
                }
            }
        }

        private async Task<string[]> ReadPasswordHashesAsync(string[] emails, string[] userNames)
        {
            await using var scope = _app.Services.CreateAsyncScope();
            var normalized = emails.Select(e => e.ToUpperInvariant()).ToArray();
            var names = userNames.Select(n => n.ToUpperInvariant()).ToArray();
            return await scope.ServiceProvider.GetRequiredService<AppDbContext>().Users
                .Where(u => normalized.Contains(u.NormalizedEmail!) || names.Contains(u.NormalizedUserName!))
                .Select(u => u.PasswordHash!)
                .ToArrayAsync();
        }

        private static string LastCode(RecordingSender sender, string to) => sender.Messages.Last(m => m.To == to).Code;

        private async Task Call(Task<HttpResponseMessage> call, int expected)
        {
            using var response = await call;
            var body = await response.Content.ReadAsStringAsync();
            ((int)response.StatusCode).Should().Be(expected, "the journey must take its planned path; the body was {0}", body);
            _statuses.Add((int)response.StatusCode);
            _responses.Add(response.Headers + "\n" + response.Content.Headers + "\n" + body);
        }

        private void Measure<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var pairs = new List<string>(tags.Length);
            foreach (var tag in tags)
            {
                pairs.Add($"{tag.Key}={tag.Value}");
                if (instrument.Meter.Name == OtpMetrics.MeterName)
                {
                    _libraryTagKeys.Enqueue(tag.Key);
                }
            }

            _measurements.Enqueue($"{instrument.Meter.Name} {instrument.Name} {value} {string.Join(' ', pairs)}");
        }
    }
}
