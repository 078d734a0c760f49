using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>
/// Attacks on the flows of issue 15 that the flows' own tests did not cover: a phone's send
/// limit across the flows that text a code to any number, sign-in into accounts whose address
/// was never proven, and the answer of a phone signup that carried an unproven email.
/// </summary>
public sealed class FlowAttackTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const int MaxPerHour = 5;

    private readonly HttpClient _client = app.CreateClient();

    /// <summary>
    /// Phone verification and SMS signup both text a code to any number: together they must not
    /// send a phone more than <c>Resend:MaxPerHour</c> codes an hour (the per-phone limit), or the
    /// number gets twice the texts and a squatter twice the guesses at codes that open an account on it.
    /// </summary>
    [Fact]
    public async Task PhoneVerificationThenSmsSignup_SamePhone_NoMoreThanMaxPerHourTextsInTheHour()
    {
        var phone = FlowsApi.UniquePhone();
        for (var i = 0; i < MaxPerHour; i++)
        {
            await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack" });
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        for (var i = 0; i < MaxPerHour; i++)
        {
            await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" });
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        (await app.ReadOutboxAsync(phone)).Should().HaveCount(MaxPerHour);
    }

    /// <summary>The other order: SMS signups first, then phone verification.</summary>
    [Fact]
    public async Task SmsSignupThenPhoneVerification_SamePhone_SixthStartReturns429()
    {
        var phone = FlowsApi.UniquePhone();
        for (var i = 0; i < MaxPerHour; i++)
        {
            await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).ShouldBeAcceptedAsync();
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        var sixth = await _client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack" });

        sixth.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await app.ReadOutboxAsync(phone)).Should().HaveCount(MaxPerHour);
    }

    /// <summary>
    /// Account pre-hijacking: an account the host created for an email nobody proved (an attacker
    /// registered the victim's address elsewhere and knows its password) must not be opened by a
    /// code emailed to the victim: the victim would work in an account the attacker also holds.
    /// Such an address is answered like an unknown one: no code.
    /// </summary>
    [Fact]
    public async Task SignInStart_AccountWithUnconfirmedEmail_SendsNoCode()
    {
        var email = TestData.Email("signin-unconfirmed");
        await CreateUserAsync(new AppUser { UserName = email, Email = email, EmailConfirmed = false });

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    /// <summary>The same for an account named by a phone number that was never confirmed.</summary>
    [Fact]
    public async Task SignInStart_AccountWithUnconfirmedPhone_SendsNoCode()
    {
        var phone = FlowsApi.UniquePhone();
        await CreateUserAsync(new AppUser { UserName = phone, PhoneNumber = phone, PhoneNumberConfirmed = false });

        await (await _client.PostBodyAsync("/signin/code/start", new() { ["phone"] = phone })).ShouldBeAcceptedAsync();

        (await app.ReadOutboxAsync(phone)).Should().BeEmpty();
    }

    /// <summary>The account's email is confirmed at start but no longer at verify (changed meanwhile): no tokens.</summary>
    [Fact]
    public async Task SignInVerify_EmailUnconfirmedSinceStart_Returns400InvalidCodeAndNoTokens()
    {
        var email = TestData.Email("signin-unconfirmed-later");
        await CreateUserAsync(new AppUser { UserName = email, Email = email, EmailConfirmed = true });
        var flowId = await (await _client.PostBodyAsync("/signin/code/start", new() { ["email"] = email })).FlowIdAsync();
        var code = await app.ReadCodeAsync(email, "sign_in");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = await users.FindByNameAsync(email);
            user!.EmailConfirmed = false;
            (await users.UpdateAsync(user)).Succeeded.Should().BeTrue();
        }

        var response = await _client.PostBodyAsync("/signin/code/verify", new() { ["email"] = email, ["code"] = code, ["flowId"] = flowId });

        await response.ShouldBeInvalidCodeAsync();
        (await response.Content.ReadAsStringAsync()).Should().NotContain("accessToken");
    }

    /// <summary>
    /// A phone signup (with a proof) that also carried someone's email: the email is not stored
    /// (nothing proved it), and the answer must not name it as the account's verified email either.
    /// </summary>
    [Fact]
    public async Task SignupWithProof_WithAnUnprovenEmail_AnswerNamesNoEmail()
    {
        var phone = FlowsApi.UniquePhone();
        var victim = TestData.Email("proof-victim");
        var proof = await app.ProvePhoneAsync(_client, phone, "dev-attack");

        var response = await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["deviceId"] = "dev-attack", ["phoneProof"] = proof, ["email"] = victim, ["password"] = TestData.Password, ["name"] = "Ana" });

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        body.Should().NotContain(victim);
        (await app.CountUsersAsync(victim)).Should().Be(0);
    }

    /// <summary>The same for an SMS signup that carried an email: the phone is proven, the email is not.</summary>
    [Fact]
    public async Task SmsSignupVerify_WithAnUnprovenEmail_AnswerNamesNoEmail()
    {
        var phone = FlowsApi.UniquePhone();
        var victim = TestData.Email("sms-victim");
        var flowId = await (await _client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["email"] = victim, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();

        var response = await _client.PostBodyAsync("/signup/verify", new() { ["email"] = victim, ["code"] = await app.ReadCodeAsync(phone), ["flowId"] = flowId });

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        body.Should().NotContain(victim);
        (await app.CountUsersAsync(victim)).Should().Be(0);
    }

    private async Task CreateUserAsync(AppUser user)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>().CreateAsync(user, TestData.Password);
        result.Succeeded.Should().BeTrue(string.Join(", ", result.Errors.Select(e => e.Code)));
    }
}

/// <summary>
/// A proof offered while the store cannot record its use: 503, no user, and the proof is not
/// burnt (the use was never recorded), so it works once the store is back, and only once.
/// </summary>
public sealed class PhoneProofStoreDownTests(PhoneProofStoreDownTests.SwitchableStoreAppFactory app) : IClassFixture<PhoneProofStoreDownTests.SwitchableStoreAppFactory>
{
    private const string Device = "dev-store-down";

    [Fact]
    public async Task SignupWithProof_StoreDown_Returns503AndTheProofStillWorksOnceAfter()
    {
        var client = app.CreateClient();
        var phone = FlowsApi.UniquePhone();
        var proof = await app.ProvePhoneAsync(client, phone, Device);
        var users = await app.CountUsersAsync();

        app.StoreDown = true;
        HttpResponseMessage down;
        try
        {
            down = await client.SignupWithProofAsync(phone, Device, proof);
        }
        finally
        {
            app.StoreDown = false;
        }

        await down.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        (await app.CountUsersAsync()).Should().Be(users, "nothing is created while the use cannot be recorded");
        (await client.SignupWithProofAsync(phone, Device, proof)).StatusCode.Should().Be(HttpStatusCode.OK);
        await (await client.SignupWithProofAsync(phone, Device, proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
    }

    /// <summary>The sample over an in-memory store that tests can take down.</summary>
    public sealed class SwitchableStoreAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public SwitchableStoreAppFactory()
            => WithServices(services => services.Replace(ServiceDescriptor.Singleton<OtpVerification.Stores.IPendingRegistrationStore>(sp => new SwitchableStore(
                new OtpVerification.Stores.InMemoryPendingRegistrationStore(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<OtpVerificationOptions>>(), sp.GetRequiredService<TimeProvider>()),
                this))));

        /// <summary>Whether every store operation fails.</summary>
        public bool StoreDown { get; set; }
    }

    private sealed class SwitchableStore(OtpVerification.Stores.IPendingRegistrationStore inner, SwitchableStoreAppFactory state) : OtpVerification.Stores.IPendingRegistrationStore
    {
        public ValueTask<OtpVerification.Stores.SendGateResult> CreateOrReplaceAsync(OtpVerification.Stores.PendingRegistration registration, OtpVerification.Stores.SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.CreateOrReplaceAsync(registration, policy, now, cancellationToken) : Down<OtpVerification.Stores.SendGateResult>();

        public ValueTask<OtpVerification.Stores.SendGateResult> ReserveSendAsync(OtpVerification.Stores.PendingKey key, OtpVerification.Stores.SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.ReserveSendAsync(key, policy, now, cancellationToken) : Down<OtpVerification.Stores.SendGateResult>();

        public ValueTask<OtpVerification.Stores.SendGateResult> ResendAsync(OtpVerification.Stores.PendingKey key, OtpVerification.Stores.ResendCode code, OtpVerification.Stores.SendPolicy policy, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.ResendAsync(key, code, policy, now, cancellationToken) : Down<OtpVerification.Stores.SendGateResult>();

        public ValueTask<bool> RedirectAsync(OtpVerification.Stores.PendingKey key, byte[] expectedCodeHash, byte[] codeHash, byte[]? protectedCode, OtpDestination destination, CancellationToken cancellationToken = default)
            => Up() ? inner.RedirectAsync(key, expectedCodeHash, codeHash, protectedCode, destination, cancellationToken) : Down<bool>();

        public ValueTask<OtpVerification.Stores.StoreVerifyResult> VerifyAndConsumeAsync(OtpVerification.Stores.PendingKey key, string flowId, IReadOnlyList<byte[]> codeHashes, string? deviceId, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.VerifyAndConsumeAsync(key, flowId, codeHashes, deviceId, now, cancellationToken) : Down<OtpVerification.Stores.StoreVerifyResult>();

        public ValueTask CancelSendAsync(OtpVerification.Stores.PendingKey key, byte[] codeHash, CancellationToken cancellationToken = default)
            => Up() ? inner.CancelSendAsync(key, codeHash, cancellationToken) : ValueTask.FromException(new OtpVerification.Stores.OtpStoreUnavailableException("Test store is down."));

        public ValueTask<bool> PutBackAsync(OtpVerification.Stores.PendingRegistration registration, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.PutBackAsync(registration, now, cancellationToken) : Down<bool>();

        public ValueTask<bool> ConsumeOnceAsync(OtpVerification.Stores.PendingKey key, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
            => Up() ? inner.ConsumeOnceAsync(key, expiresAt, now, cancellationToken) : Down<bool>();

        public ValueTask<bool> DeleteAsync(OtpVerification.Stores.PendingKey key, CancellationToken cancellationToken = default)
            => Up() ? inner.DeleteAsync(key, cancellationToken) : Down<bool>();

        private bool Up() => !state.StoreDown;

        private static ValueTask<T> Down<T>() => ValueTask.FromException<T>(new OtpVerification.Stores.OtpStoreUnavailableException("Test store is down."));
    }
}

/// <summary>No code, proof, password, token or full phone number of the new flows in any log line, at Trace.</summary>
public sealed class FlowLogLeakTests(FlowLogLeakTests.CapturingAppFactory app) : IClassFixture<FlowLogLeakTests.CapturingAppFactory>
{
    private const string Device = "dev-leak";

    [Fact]
    public async Task Logs_PhoneFirstSignupThenSignInByCode_HoldNoSecretNorFullPhone()
    {
        var client = app.CreateClient();
        var phone = FlowsApi.UniquePhone();
        var proveFlow = await (await client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = Device })).FlowIdAsync();
        var proveCode = await app.ReadCodeAsync(phone, "phone_verification");
        await client.PostBodyAsync("/phone-verification/verify", new() { ["phone"] = phone, ["code"] = TestData.WrongCode(proveCode), ["flowId"] = proveFlow, ["deviceId"] = Device });
        var proof = (await (await client.PostBodyAsync("/phone-verification/verify", new() { ["phone"] = phone, ["code"] = proveCode, ["flowId"] = proveFlow, ["deviceId"] = Device })).ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("phoneProof").GetString()!;
        var signup = await (await client.SignupWithProofAsync(phone, Device, proof)).ShouldHaveJsonAsync(HttpStatusCode.OK);
        await (await client.SignupWithProofAsync(phone, Device, proof)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_proof");
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        var signInFlow = await (await client.PostBodyAsync("/signin/code/start", new() { ["phone"] = phone })).FlowIdAsync();
        var signInCode = await app.ReadCodeAsync(phone, "sign_in");
        await client.PostBodyAsync("/signin/code/verify", new() { ["phone"] = phone, ["code"] = TestData.WrongCode(signInCode), ["flowId"] = signInFlow });
        var signIn = await (await client.PostBodyAsync("/signin/code/verify", new() { ["phone"] = phone, ["code"] = signInCode, ["flowId"] = signInFlow })).ShouldHaveJsonAsync(HttpStatusCode.OK);
        string[] secrets = [proveCode, signInCode, proof, TestData.Password, phone, signup.GetProperty("accessToken").GetString()!, signIn.GetProperty("accessToken").GetString()!];

        var logs = app.Logs!.Entries;

        logs.Should().HaveCountGreaterThan(20, "every category logs at Trace");
        logs.Should().NotContain(e => secrets.Any(s => e.Contains(s, StringComparison.Ordinal)));
        logs.Should().Contain(e => e.Contains(OtpAddress.Mask(phone), StringComparison.Ordinal), "the phone is logged masked");
    }

    /// <summary>The sample with every log entry captured.</summary>
    public sealed class CapturingAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public CapturingAppFactory() => WithLogCapture();
    }
}
