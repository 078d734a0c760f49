using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// An independent review by attack (the "break the promise" brief): each test drives the sample
/// over HTTP the way an attacker would and states in its name what must hold. A failing test here
/// is a finding; the report of the review explains each one.
/// </summary>
public sealed class AttackTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    // ---- Finding: the address of verify/complete is trusted over the address the code went to ----

    [Fact]
    public async Task PasswordResetComplete_CodeMailedToAPlusAliasAccount_DoesNotSetThePasswordOfTheBaseAddress()
    {
        // Mallory holds the mailbox "victim+mallory@corp.example" on a domain where '+' is an
        // ordinary character (no sub-addressing): a different mailbox from the victim's.
        var victim = $"v{Guid.NewGuid():N}@corp.example";
        var mallorys = victim.Replace("@", "+mallory@", StringComparison.Ordinal);
        await app.CreateUserAsync(victim, TestData.Password);
        await app.CreateUserAsync(mallorys, TestData.Password);

        await (await _client.StartPasswordResetAsync(mallorys)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(mallorys, "password_reset");
        var complete = await _client.CompletePasswordResetAsync(victim, code, "Mall0ry-Owns-It!", flowId: Api.FlowOf("/password-reset", mallorys));

        complete.StatusCode.Should().NotBe(HttpStatusCode.NoContent, "the code proved mallorys' mailbox, not the victim's");
        (await _client.LoginAsync(victim, "Mall0ry-Owns-It!")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task SignupVerify_CodeMailedToAPlusAlias_DoesNotCreateAnAccountForTheBaseAddress()
    {
        var victim = $"v{Guid.NewGuid():N}@corp.example";
        var mallorys = victim.Replace("@", "+mallory@", StringComparison.Ordinal);

        await (await _client.StartSignupAsync(mallorys, "Mall0ry-Owns-It!")).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(mallorys);
        var verify = await _client.VerifySignupAsync(victim, code, flowId: Api.FlowOf("/signup", mallorys));

        verify.StatusCode.Should().NotBe(HttpStatusCode.OK);
        (await app.CountUsersAsync(victim)).Should().Be(0, "nobody proved they read the victim's mailbox");
    }

    [Fact]
    public async Task SignupVerify_CodeMailedToAPlusAlias_DoesNotTellWhetherTheBaseAddressIsRegistered()
    {
        // Without reveal mode, only the owner of an address may learn that it has an account.
        var victim = $"v{Guid.NewGuid():N}@corp.example";
        var mallorys = victim.Replace("@", "+mallory@", StringComparison.Ordinal);
        await app.CreateUserAsync(victim, TestData.Password);

        await (await _client.StartSignupAsync(mallorys, "Mall0ry-Owns-It!")).ShouldBeAcceptedAsync();
        var verify = await _client.VerifySignupAsync(victim, await app.ReadCodeAsync(mallorys), flowId: Api.FlowOf("/signup", mallorys));

        verify.StatusCode.Should().NotBe(HttpStatusCode.Conflict, "a 409 email_taken tells Mallory the victim has an account");
    }

    // ---- Finding: an SMS signup squats someone else's email (account pre-hijacking) ----

    [Fact]
    public async Task SignupVerify_SmsCodeWithSomeoneElsesEmail_DoesNotLetTheAttackerSignInAsThatEmail()
    {
        var victim = TestData.Email("presquat-login");
        var mallorysPhone = UniquePhone();

        await (await _client.StartSignupAsync(victim, "Mall0ry-Owns-It!", phone: mallorysPhone, channel: "sms")).ShouldBeAcceptedAsync();
        await _client.VerifySignupAsync(victim, await app.ReadCodeAsync(mallorysPhone));

        var login = await _client.LoginAsync(victim, "Mall0ry-Owns-It!");

        login.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "Mallory never proved the email she now signs in with");
    }

    [Fact]
    public async Task PasswordReset_ByTheEmailOwnerAfterAnSmsSquat_LeavesNoAttackerPhoneVerifiedOnTheAccount()
    {
        // Classic pre-account-takeover: Mallory squats the email with her phone; the owner later
        // "recovers" the account by password reset and uses it, with Mallory's phone still on it.
        // Defence: a texted code makes an account of the phone alone, so there is no account of
        // the email to recover, and the owner's own signup (by emailed code) makes a clean one.
        var victim = TestData.Email("presquat-phone");
        var mallorysPhone = UniquePhone();
        await (await _client.StartSignupAsync(victim, "Mall0ry-Owns-It!", phone: mallorysPhone, channel: "sms")).ShouldBeAcceptedAsync();
        await _client.VerifySignupAsync(victim, await app.ReadCodeAsync(mallorysPhone));

        (await app.CountUsersAsync(victim)).Should().Be(0, "the squatted email was never proven, so no account carries it");
        await (await _client.StartPasswordResetAsync(victim)).ShouldBeAcceptedAsync();
        (await app.ReadOutboxAsync(victim)).Should().NotContain(m => m.Purpose == "password_reset", "there is no account of this email to reset");

        app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.StartSignupAsync(victim, TestData.Password)).ShouldBeAcceptedAsync();
        var verify = await _client.VerifySignupAsync(victim, await app.ReadCodeAsync(victim));
        var me = await (await _client.GetMeAsync((await verify.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("accessToken").GetString())).ShouldHaveJsonAsync(HttpStatusCode.OK);

        (me.GetProperty("phoneVerified").GetBoolean() && me.GetProperty("phone").GetString() == mallorysPhone)
            .Should().BeFalse("the owner's account must not carry a verified phone the attacker holds");
    }

    [Fact]
    public async Task SignupVerify_SmsCodeWithSomeoneElsesRegisteredEmail_DoesNotTellTheAttackerTheEmailIsRegistered()
    {
        // Anyone with a phone learns whether any email has an account: 409 here, 200 for a new one.
        var registered = TestData.Email("sms-enum-registered");
        await app.CreateUserAsync(registered, TestData.Password);
        var mallorysPhone = UniquePhone();

        await (await _client.StartSignupAsync(registered, "Mall0ry-Owns-It!", phone: mallorysPhone, channel: "sms")).ShouldBeAcceptedAsync();
        var verify = await _client.VerifySignupAsync(registered, await app.ReadCodeAsync(mallorysPhone));

        verify.StatusCode.Should().NotBe(HttpStatusCode.Conflict, "only the owner of the mailbox may learn that its account exists");
    }

    // ---- Contract: answers that carry tokens have Cache-Control: no-store ----

    [Fact]
    public async Task SignupVerify_AnswerCarryingBearerTokens_HasCacheControlNoStore()
    {
        var email = TestData.Email("no-store-verify");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var verify = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        (await verify.ShouldHaveJsonAsync(HttpStatusCode.OK)).TryGetProperty("accessToken", out _).Should().BeTrue();
        (verify.Headers.CacheControl?.NoStore ?? false).Should().BeTrue("a shared or browser cache must never keep an access or refresh token");
    }

    [Fact]
    public async Task Login_AnswerCarryingBearerTokens_HasCacheControlNoStore()
    {
        var email = TestData.Email("no-store-login");
        await app.CreateUserAsync(email, TestData.Password);

        var login = await _client.LoginAsync(email, TestData.Password);

        (await login.ShouldHaveJsonAsync(HttpStatusCode.OK)).TryGetProperty("accessToken", out _).Should().BeTrue();
        (login.Headers.CacheControl?.NoStore ?? false).Should().BeTrue("a shared or browser cache must never keep an access or refresh token");
    }

    // ---- Finding: phone numbers are checked for shape only (libphonenumber is never asked) ----

    [Theory]
    [InlineData("+1 000 000 0000")] // NANP area codes never start with 0
    [InlineData("+999 1234 5678")] // 999 is no country calling code
    [InlineData("+44 07700 900123")] // the UK trunk 0 inside an international number
    public async Task Start_ImpossiblePhoneNumber_Returns400ValidationOnPhone(string phone)
    {
        var response = await _client.StartSignupAsync(TestData.Email("bad-phone"), phone: phone, channel: "sms");

        await response.ShouldBeValidationProblemAsync("phone");
    }

    // ---- Contract: a Content-Type other than JSON is 415 ----

    [Theory]
    [InlineData("/signup/start")]
    [InlineData("/signup/verify")]
    [InlineData("/password-reset/start")]
    [InlineData("/password-reset/complete")]
    public async Task Post_TextPlainBody_Returns415(string path)
    {
        var response = await _client.PostRawAsync(path, System.Text.Encoding.UTF8.GetBytes("{\"email\":\"a@example.com\"}"), "text/plain");

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
    }

    // ---- Finding: duplicate JSON properties are accepted (parser differential) ----

    [Theory]
    [InlineData("/signup/start", "{\"email\":\"{0}\",\"Email\":\"{1}\",\"password\":\"S3cure-Passw0rd!\",\"name\":\"Ana\"}")]
    [InlineData("/signup/start", "{\"email\":\"{0}\",\"email\":\"{1}\",\"password\":\"S3cure-Passw0rd!\",\"name\":\"Ana\"}")]
    [InlineData("/password-reset/start", "{\"email\":\"{0}\",\"EMAIL\":\"{1}\"}")]
    public async Task Post_APropertyGivenTwice_Returns400Validation(string path, string template)
    {
        var json = template.Replace("{0}", TestData.Email("dup-a"), StringComparison.Ordinal).Replace("{1}", TestData.Email("dup-b"), StringComparison.Ordinal);

        var response = await _client.PostJsonTextAsync(path, json);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    // ---- Finding: a resend the sender fails gives its send slot back but its guesses stand ----

    [Theory]
    [InlineData("SameCode")]
    [InlineData("NewCode")]
    public async Task Verify_GuessingWhileFailedResendsAreInFlight_EvaluatesAtMostMaxAttemptsTimesMaxPerHourGuesses(string strategy)
    {
        var sender = new HoldingEmailSender();
        await using var host = new SampleAppFactory().WithSender(sender).WithSetting("OtpSignup:Resend:Strategy", strategy);
        using var mallory = host.CreateClient();
        var victim = TestData.Email("held-resend");
        await (await mallory.StartSignupAsync(victim, "Mall0ry-Owns-It!")).ShouldBeAcceptedAsync();
        var flowId = Api.FlowOf("/signup", victim);
        sender.HoldNext = true;

        var evaluated = 0;
        for (var round = 0; round < 8; round++)
        {
            // Each round a minute later (the cooldown), all within one hour: the resend's message
            // is stuck in a slow, failing SMTP relay; meanwhile its code takes guesses.
            host.Clock.Advance(TimeSpan.FromSeconds(61));
            var resend = mallory.ResendSignupAsync(victim);
            if (await Task.WhenAny(sender.Held.Task, resend).WaitAsync(TimeSpan.FromSeconds(30)) == resend)
            {
                (await resend).StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "a resend that sends nothing was refused by the limits");
                continue;
            }

            var code = await sender.Held.Task;
            for (var guess = 1; guess <= 5; guess++)
            {
                var verify = await mallory.VerifySignupAsync(victim, TestData.WrongCode(code, guess), flowId: flowId);
                if (verify.StatusCode == HttpStatusCode.BadRequest && (await verify.Content.ReadAsStringAsync()).Contains("invalid_code", StringComparison.Ordinal))
                {
                    evaluated++;
                }
            }

            sender.Release();
            (await resend.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        evaluated.Should().BeLessThanOrEqualTo(5 * 5, "MaxAttempts x MaxPerHour guesses per address per hour, also while a sender is down");
    }

    // ---- Probe: a client dropped during verify must not consume the signup without a user ----

    [Fact]
    public async Task Verify_ClientDroppedRightAfterTheCodeIsConsumed_EndsInTheUserOrARetryableSignup()
    {
        var dropping = new DroppingStore();
        await using var host = new SampleAppFactory()
            .WithServices(services =>
            {
                services.AddHttpContextAccessor();
                services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(sp =>
                {
                    dropping.Inner = new InMemoryPendingRegistrationStore(10_000, sp.GetRequiredService<TimeProvider>());
                    dropping.Accessor = sp.GetRequiredService<IHttpContextAccessor>();
                    return dropping;
                }));
            });
        using var client = host.CreateClient();
        var email = TestData.Email("dropped");
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await host.ReadCodeAsync(email);

        using var drop = new CancellationTokenSource();
        dropping.OnConsumed = drop.Cancel;
        var body = new Dictionary<string, object?> { ["email"] = email, ["code"] = code, ["flowId"] = Api.FlowOf("/signup", email) };
        try
        {
            using var _ = await client.PostAsync(new Uri("/signup/verify", UriKind.Relative), JsonContent(body), drop.Token);
        }
        catch (OperationCanceledException)
        {
            // The client went away, as intended.
        }

        dropping.OnConsumed = null;
        await dropping.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        dropping.SawAbort.Should().BeTrue("the request must really have been aborted while the entry was consumed");
        var retry = await client.PostJsonAsync("/signup/verify", body);
        (await host.CountUsersAsync(email)).Should().Be(1, $"the code was right: a user, or a signup the retry completes (retry answered {(int)retry.StatusCode})");
    }

    // ---- Probes that held (kept as regression tests) ----

    [Fact]
    public async Task Verify_FlowIdOfAnotherAddress_Returns400FlowExpired()
    {
        var mallorys = TestData.Email("flow-mallory");
        var victim = TestData.Email("flow-victim");
        await (await _client.StartSignupAsync(mallorys)).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(victim)).ShouldBeAcceptedAsync();

        var verify = await _client.VerifySignupAsync(victim, await app.ReadCodeAsync(mallorys), flowId: Api.FlowOf("/signup", mallorys));

        await verify.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task PasswordResetComplete_WithASignupFlowAndItsCode_Returns400FlowExpired()
    {
        var email = TestData.Email("flow-purpose");
        await app.CreateUserAsync(email, TestData.Password);
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var complete = await _client.CompletePasswordResetAsync(email, await app.ReadCodeAsync(email), TestData.NewPassword, flowId: Api.FlowOf("/signup", email));

        await complete.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    [Fact]
    public async Task Verify_ReplayedAfterSuccess_Returns400FlowExpiredAndCreatesNoSecondUser()
    {
        var email = TestData.Email("flow-replay");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);
        (await _client.VerifySignupAsync(email, code)).StatusCode.Should().Be(HttpStatusCode.OK);

        var replay = await _client.VerifySignupAsync(email, code);

        await replay.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static string UniquePhone() => "+1415" + Random.Shared.Next(2_000_000, 9_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An email sender that delivers at once until <see cref="HoldNext"/>; then each message waits for <see cref="Release"/> and fails.</summary>
    private sealed class HoldingEmailSender : IOtpSender
    {
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OtpChannel Channel => OtpChannel.Email;

        public bool HoldNext { get; set; }

        public TaskCompletionSource<string> Held { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release()
        {
            Held = new(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = _release;
            _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
            release.SetResult();
        }

        public async ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default)
        {
            if (!HoldNext)
            {
                return;
            }

            var release = _release.Task;
            Held.TrySetResult(message.Code);
            await release.ConfigureAwait(false);
            throw new OtpDeliveryException("The relay timed out.");
        }
    }

    /// <summary>The in-memory store; once a verify consumed an entry, the client drops its request before the endpoint goes on.</summary>
    private sealed class DroppingStore : IPendingRegistrationStore
    {
        public IPendingRegistrationStore Inner { get; set; } = null!;

        public IHttpContextAccessor Accessor { get; set; } = null!;

        public Action? OnConsumed { get; set; }

        public bool SawAbort { get; private set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<SendGateResult> CreateOrReplaceAsync(PendingRegistration registration, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Inner.CreateOrReplaceAsync(registration, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ReserveSendAsync(PendingKey key, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Inner.ReserveSendAsync(key, policy, now, cancellationToken);

        public ValueTask<SendGateResult> ResendAsync(PendingKey key, ResendCode code, SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default) => Inner.ResendAsync(key, code, policy, now, cancellationToken);

        public ValueTask<bool> RedirectAsync(PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default) => Inner.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken);

        public async ValueTask<StoreVerifyResult> VerifyAndConsumeAsync(PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            var result = await Inner.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken);
            if (result.Status == StoreVerifyStatus.Success && OnConsumed is { } drop)
            {
                var aborted = Accessor.HttpContext?.RequestAborted ?? CancellationToken.None;
                drop();
                for (var i = 0; i < 200 && !aborted.IsCancellationRequested; i++)
                {
                    await Task.Yield();
                    await Task.Delay(5, CancellationToken.None);
                }

                SawAbort = aborted.IsCancellationRequested;

                // Done once the endpoint has finished with this request (whatever it did next).
                Accessor.HttpContext?.Response.RegisterForDispose(new Signal(Done));
            }

            return result;
        }

        public ValueTask CancelSendAsync(PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default) => Inner.CancelSendAsync(key, codeHash, cancellationToken);

        public ValueTask<bool> PutBackAsync(PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default) => Inner.PutBackAsync(registration, now, cancellationToken);

        public ValueTask<bool> DeleteAsync(PendingKey key, CancellationToken cancellationToken = default) => Inner.DeleteAsync(key, cancellationToken);

        private sealed class Signal(TaskCompletionSource done) : IDisposable
        {
            public void Dispose() => done.TrySetResult();
        }
    }
}
