using System.Text.RegularExpressions;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Learning which emails have accounts": with <c>RevealExistingAccounts=false</c>
/// (the default) start, resend and password-reset start answer a registered and a new address
/// with the same status, the same body (byte for byte, but for <c>traceId</c>) and the same header
/// names, on the first call and on a second call within the cooldown (both take a send slot).
/// Every test runs in English and, through <c>Accept-Language: es</c>, in Spanish
/// (<see cref="SpanishEnumerationTests"/>): the answers must match in every language.
/// </summary>
public sealed class EnumerationTests(SampleAppFactory app) : EnumerationTestsBase(app, null), IClassFixture<SampleAppFactory>;

/// <summary>The enumeration tests with <c>Accept-Language: es</c>: Spanish titles and messages, still byte-for-byte alike.</summary>
public sealed class SpanishEnumerationTests(SampleAppFactory app) : EnumerationTestsBase(app, "es"), IClassFixture<SampleAppFactory>;

/// <summary>The enumeration tests, in one language.</summary>
public abstract partial class EnumerationTestsBase
{
    private readonly SampleAppFactory _app;
    private readonly HttpClient _client;

    protected EnumerationTestsBase(SampleAppFactory app, string? language)
    {
        _app = app;
        _client = app.CreateClient();
        if (language is not null)
        {
            _client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(language);
        }
    }

    public static TheoryData<string> SendEndpoints => new("/signup/start", "/signup/resend", "/password-reset/start");

    [Theory]
    [MemberData(nameof(SendEndpoints))]
    public async Task SendEndpoint_RegisteredVersusNewAddress_AnswersAreIndistinguishable(string endpoint)
    {
        var registered = await RegisteredEmailAsync("enum-registered");
        var fresh = TestData.Email("enum-new");

        var forRegistered = await Snapshot.TakeAsync(await PostAsync(endpoint, registered));
        var forNew = await Snapshot.TakeAsync(await PostAsync(endpoint, fresh));

        forRegistered.ShouldMatch(forNew);
        forRegistered.Status.Should().Be(202);
    }

    [Theory]
    [MemberData(nameof(SendEndpoints))]
    public async Task SendEndpoint_RegisteredVersusNewAddressAgainWithinCooldown_AnswersAreIndistinguishable(string endpoint)
    {
        var registered = await RegisteredEmailAsync("enum-again-registered");
        var fresh = TestData.Email("enum-again-new");
        await PostAsync(endpoint, registered);
        await PostAsync(endpoint, fresh);

        var forRegistered = await Snapshot.TakeAsync(await PostAsync(endpoint, registered));
        var forNew = await Snapshot.TakeAsync(await PostAsync(endpoint, fresh));

        forRegistered.ShouldMatch(forNew);
        forRegistered.Status.Should().Be(429);
    }

    [Fact]
    public async Task Resend_AfterStartForRegisteredVersusNewAddress_AnswersAreIndistinguishable()
    {
        // The attacker's own flow: start for an address, then ask for the code again.
        var registered = await RegisteredEmailAsync("enum-resend-registered");
        var fresh = TestData.Email("enum-resend-new");
        await (await _client.StartSignupAsync(registered)).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(fresh)).ShouldBeAcceptedAsync();
        _app.Clock.Advance(TimeSpan.FromSeconds(61));

        var forRegistered = await Snapshot.TakeAsync(await _client.ResendSignupAsync(registered));
        var forNew = await Snapshot.TakeAsync(await _client.ResendSignupAsync(fresh));

        forRegistered.ShouldMatch(forNew);
        forRegistered.Status.Should().Be(202);
    }

    [Fact]
    public async Task Resend_LateInThePendingLifetimeForRegisteredVersusNewAddress_AnswersAreIndistinguishable()
    {
        // 25 of the 30 pending minutes gone: a new code must not be cut to the 5 left (expiresIn
        // would then tell a pending signup, so a new address, from a registered one).
        var registered = await RegisteredEmailAsync("enum-late-registered");
        var fresh = TestData.Email("enum-late-new");
        await (await _client.StartSignupAsync(registered)).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(fresh)).ShouldBeAcceptedAsync();
        _app.Clock.Advance(TimeSpan.FromMinutes(25));

        var forRegistered = await Snapshot.TakeAsync(await _client.ResendSignupAsync(registered));
        var forNew = await Snapshot.TakeAsync(await _client.ResendSignupAsync(fresh));

        forRegistered.ShouldMatch(forNew);
        forRegistered.Status.Should().Be(202);
        _app.Clock.Advance(TimeSpan.FromMinutes(9));
        (await _client.VerifySignupAsync(fresh, await _app.ReadCodeAsync(fresh))).StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
    }

    public static TheoryData<string> VerifyProbes => new("wrong-code", "foreign-device", "stale-flow", "no-flow");

    [Theory]
    [MemberData(nameof(VerifyProbes))]
    public async Task Verify_RegisteredVersusNewAddress_AnswersAreIndistinguishable(string probe)
    {
        // Hole 2: verify used to answer a registered address (nothing stored) unlike a new one.
        var registered = await RegisteredEmailAsync("enum-verify-registered");
        var fresh = TestData.Email("enum-verify-new");

        var forRegistered = await Snapshot.TakeAsync(await ProbeVerifyAsync(probe, registered));
        var forNew = await Snapshot.TakeAsync(await ProbeVerifyAsync(probe, fresh));

        forRegistered.ShouldMatch(forNew);
        forRegistered.Status.Should().Be(400);
    }

    [Fact]
    public async Task PasswordResetComplete_RegisteredVersusUnknownAddress_AnswersAreIndistinguishable()
    {
        var registered = await RegisteredEmailAsync("enum-reset-registered");
        var unknown = TestData.Email("enum-reset-unknown");
        await (await _client.StartPasswordResetAsync(registered)).ShouldBeAcceptedAsync();
        await (await _client.StartPasswordResetAsync(unknown)).ShouldBeAcceptedAsync();
        var wrong = TestData.WrongCode(await _app.ReadCodeAsync(registered, "password_reset"));

        var forRegistered = await Snapshot.TakeAsync(await _client.CompletePasswordResetAsync(registered, wrong, TestData.NewPassword));
        var forUnknown = await Snapshot.TakeAsync(await _client.CompletePasswordResetAsync(unknown, wrong, TestData.NewPassword));

        forRegistered.ShouldMatch(forUnknown);
        forRegistered.Status.Should().Be(400);
    }

    /// <summary>A verify an attacker can make for an address whose mailbox they cannot read, after starting it themselves.</summary>
    private async Task<HttpResponseMessage> ProbeVerifyAsync(string probe, string email)
    {
        await (await _client.StartSignupAsync(email, deviceId: "attacker-device")).ShouldBeAcceptedAsync();
        var flow = Api.FlowOf("/signup", email);
        return probe switch
        {
            "wrong-code" => await _client.VerifySignupAsync(email, "000000", deviceId: "attacker-device"),
            "foreign-device" => await _client.VerifySignupAsync(email, "000000", deviceId: "another-device"),
            "stale-flow" => await StaleFlowAsync(email, flow),
            _ => await _client.PostJsonAsync("/signup/verify", new { email, code = "000000", deviceId = "attacker-device" }),
        };
    }

    private async Task<HttpResponseMessage> StaleFlowAsync(string email, string oldFlow)
    {
        _app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.StartSignupAsync(email, deviceId: "attacker-device")).ShouldBeAcceptedAsync();
        return await _client.VerifySignupAsync(email, "000000", deviceId: "attacker-device", flowId: oldFlow);
    }

    private Task<HttpResponseMessage> PostAsync(string endpoint, string email) => endpoint switch
    {
        "/signup/start" => _client.StartSignupAsync(email),
        _ => _client.PostJsonAsync(endpoint, new { email }),
    };

    private async Task<string> RegisteredEmailAsync(string tag)
    {
        var email = TestData.Email(tag);
        await _app.SeedUsersAsync([email]);
        return email;
    }

    [GeneratedRegex("""(,"traceId":"[^"]*"|"traceId":"[^"]*",?)""")]
    private static partial Regex TraceId();

    [GeneratedRegex(""""flowId":"[A-Za-z0-9_-]{22}"""")]
    private static partial Regex FlowId();

    /// <summary>What a client can observe of an answer, but for the per-request <c>traceId</c>.</summary>
    /// <param name="Status">The status code.</param>
    /// <param name="HeaderNames">Response and content header names, sorted, lower case.</param>
    /// <param name="Body">The body bytes, <c>traceId</c> removed.</param>
    private sealed record Snapshot(int Status, IReadOnlyList<string> HeaderNames, byte[] Body)
    {
        public static async Task<Snapshot> TakeAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsStringAsync();
            var names = response.Headers.Concat(response.Content.Headers).Select(h => h.Key.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();
            // Flow ids are random per start: each is replaced by a placeholder only when it has the one shape every flow id has.
            var masked = FlowId().Replace(TraceId().Replace(body, string.Empty), "\"flowId\":\"(22 characters)\"");
            return new Snapshot((int)response.StatusCode, names, System.Text.Encoding.UTF8.GetBytes(masked));
        }

        /// <summary>Asserts the same status, header names and body bytes as <paramref name="other"/>.</summary>
        public void ShouldMatch(Snapshot other)
        {
            Status.Should().Be(other.Status, "the status must not reveal which address has an account");
            HeaderNames.Should().Equal(other.HeaderNames, "the header names must not reveal which address has an account");
            Body.Should().Equal(other.Body, "the bodies must be byte-equal, but were {0} and {1}", System.Text.Encoding.UTF8.GetString(Body), System.Text.Encoding.UTF8.GetString(other.Body));
        }
    }
}
