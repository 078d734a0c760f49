using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Requests;

/// <summary>No response or log line ever contains a code or a password (CONTRACT.md, conventions).</summary>
public sealed class SecretLeakTests : IClassFixture<SecretLeakTests.LoggingAppFactory>
{
    private const string Password = "Le4ky-Secret-Passw0rd!";
    private const string NewPassword = "An0ther-Le4ky-Secret!";
    private const string WeakPassword = "weaksecretpassword";
    private readonly LoggingAppFactory _app;
    private readonly HttpClient _client;
    private readonly List<string> _responses = [];

    public SecretLeakTests(LoggingAppFactory app)
    {
        _app = app;
        _client = app.CreateClient();
    }

    [Fact]
    public async Task WholeJourney_ResponsesAndLogs_NeverContainACodeOrPassword()
    {
        var email = TestData.Email("leak");
        var codes = new List<string>();

        await Record(_client.StartSignupAsync(email, WeakPassword));
        await Record(_client.StartSignupAsync(email, Password));
        codes.Add(await _app.ReadCodeAsync(email));
        await Record(_client.VerifySignupAsync(email, TestData.WrongCode(codes[^1])));
        _app.Clock.Advance(TimeSpan.FromSeconds(61));
        await Record(_client.ResendSignupAsync(email));
        codes.Add(await _app.ReadCodeAsync(email));
        await Record(_client.VerifySignupAsync(email, codes[^1]));
        await Record(_client.LoginAsync(email, "Wr0ng-Passw0rd!"));
        await Record(_client.StartPasswordResetAsync(email));
        codes.Add(await _app.ReadCodeAsync(email, "password_reset"));
        await Record(_client.CompletePasswordResetAsync(email, codes[^1], WeakPassword));
        await Record(_client.CompletePasswordResetAsync(email, codes[^1], NewPassword));
        (await _client.LoginAsync(email, NewPassword)).StatusCode.Should().Be(HttpStatusCode.OK);

        string[] secrets = [.. codes, Password, NewPassword, WeakPassword];
        _responses.Should().NotContain(r => secrets.Any(s => r.Contains(s, StringComparison.Ordinal)));
        _app.Logs!.Entries.Should().NotBeEmpty().And.NotContain(e => secrets.Any(s => e.Contains(s, StringComparison.Ordinal)));
    }

    private async Task Record(Task<HttpResponseMessage> call)
    {
        var response = await call;
        ((int)response.StatusCode).Should().BeLessThan(500);
        _responses.Add(response.Headers + "\n" + response.Content.Headers + "\n" + await response.Content.ReadAsStringAsync());
    }

    /// <summary>The sample with every log entry captured.</summary>
    public sealed class LoggingAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public LoggingAppFactory() => WithLogCapture();
    }
}
