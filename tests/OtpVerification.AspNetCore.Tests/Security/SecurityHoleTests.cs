using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// One test per hole of the security review of a011040 (issue 13), each tried over HTTP the way
/// the attacker did. Each failed on a011040 (it had no flow ids, stored nothing for registered
/// addresses, marked the email verified for an SMS code, refilled attempts on a failed resend, …).
/// </summary>
public sealed class SecurityHoleTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Hole01_AnSmsCode_MarksThePhoneVerifiedAndNeverTheEmail()
    {
        var email = TestData.Email("hole1-sms");
        var phone = UniquePhone();
        await (await _client.StartSignupAsync(email, phone: phone, channel: "sms")).ShouldBeAcceptedAsync();
        (await app.ReadOutboxAsync(email)).Should().BeEmpty("the code went by SMS only");

        var verify = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(phone));

        var me = await MeAsync(await verify.ShouldHaveJsonAsync(HttpStatusCode.OK));
        me.GetProperty("emailVerified").GetBoolean().Should().BeFalse("nobody proved they read this mailbox");
        me.GetProperty("email").ValueKind.Should().Be(JsonValueKind.Null, "an unproven email is not stored: nobody can squat it by texting themselves a code");
        me.GetProperty("phone").GetString().Should().Be(phone);
        me.GetProperty("phoneVerified").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Hole01_AnEmailedCode_MarksTheEmailVerifiedAndNeverThePhone()
    {
        var email = TestData.Email("hole1-email");
        await (await _client.StartSignupAsync(email, phone: UniquePhone())).ShouldBeAcceptedAsync();

        var verify = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email));

        var me = await MeAsync(await verify.ShouldHaveJsonAsync(HttpStatusCode.OK));
        me.GetProperty("emailVerified").GetBoolean().Should().BeTrue();
        me.GetProperty("phoneVerified").GetBoolean().Should().BeFalse("no code was texted to the phone");
    }

    [Fact]
    public async Task Hole02_StartForARegisteredAddress_StoresARealEntryAndAnswersVerifyLikeANewOne()
    {
        var registered = TestData.Email("hole2-registered");
        await app.CreateUserAsync(registered, TestData.Password);
        var fresh = TestData.Email("hole2-new");
        await (await _client.StartSignupAsync(registered)).ShouldBeAcceptedAsync();
        await (await _client.StartSignupAsync(fresh)).ShouldBeAcceptedAsync();

        var forRegistered = await _client.VerifySignupAsync(registered, "000000");
        var forNew = await _client.VerifySignupAsync(fresh, "000000");

        (await forRegistered.ShouldBeInvalidCodeAsync()).Should().Be(await forNew.ShouldBeInvalidCodeAsync());
    }

    [Fact]
    public async Task Hole03_AStrangerRestartingTheSignup_CannotPlantAPasswordThatTheOwnersCodeConfirms()
    {
        // The owner starts on their page; a stranger restarts the same address after the cooldown
        // with their own password; the owner then types the newest code from their mailbox.
        var email = TestData.Email("hole3-owner");
        await (await _client.StartSignupAsync(email, TestData.Password)).ShouldBeAcceptedAsync();
        var ownersFlow = Api.FlowOf("/signup", email);
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        using var stranger = app.CreateClient();
        await (await stranger.StartSignupAsync(email, "Str4nger-Passw0rd!")).ShouldBeAcceptedAsync();

        var owners = await _client.VerifySignupAsync(email, await app.ReadCodeAsync(email), flowId: ownersFlow);

        await owners.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
        (await app.CountUsersAsync(email)).Should().Be(0, "no account may carry the stranger's password");
    }

    [Fact]
    public async Task Hole03_AStaleFlow_IsNotEvaluatedAndCostsTheCurrentFlowNothing()
    {
        var email = TestData.Email("hole3-stale");
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var stale = Api.FlowOf("/signup", email);
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await app.ReadCodeAsync(email);

        for (var i = 0; i < 10; i++)
        {
            await (await _client.VerifySignupAsync(email, TestData.WrongCode(code, i + 1), flowId: stale)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "flow_expired");
        }

        (await (await _client.VerifySignupAsync(email, TestData.WrongCode(code))).ShouldBeInvalidCodeAsync()).Should().Be(4, "guesses on a stale flow are never counted nor evaluated");
    }

    [Fact]
    public async Task Hole04_AResendThatCannotBeDelivered_LeavesThePreviousCodeAndItsAttemptsAsTheyWere()
    {
        await using var factory = new Hosting.SwitchableSendersSampleAppFactory();
        using var client = factory.CreateClient();
        var email = TestData.Email("hole4");
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await factory.ReadCodeAsync(email);
        for (var i = 1; i <= 3; i++)
        {
            await (await client.VerifySignupAsync(email, TestData.WrongCode(code, i))).ShouldBeInvalidCodeAsync();
        }

        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        factory.Senders.EmailDown = true;
        await (await client.ResendSignupAsync(email)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        factory.Senders.EmailDown = false;

        (await (await client.VerifySignupAsync(email, TestData.WrongCode(code, 4))).ShouldBeInvalidCodeAsync()).Should().Be(1, "the failed resend gave no attempts back");
        (await (await client.VerifySignupAsync(email, TestData.WrongCode(code, 5))).ShouldBeInvalidCodeAsync()).Should().Be(0);
        await (await client.VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "max_attempts");
    }

    [Theory]
    [InlineData("o'brien@example.com")]
    [InlineData("ana#1@example.com")]
    public async Task Hole06_AnAddressTheUserStoreRefuses_IsRefusedAtStartBeforeACodeIsSpent(string email)
    {
        var response = await _client.StartSignupAsync(email);

        await response.ShouldBeValidationProblemAsync("email");
        (await app.ReadOutboxAsync(email)).Should().BeEmpty();
    }

    [Fact]
    public async Task Hole07_APasswordReset_NeverLiftsALockout_AndEndsEarlierSessions()
    {
        var email = TestData.Email("hole7");
        await app.CreateUserAsync(email, TestData.Password);
        string stampBefore;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = (await users.FindByEmailAsync(email))!;
            await users.SetLockoutEnabledAsync(user, true);
            await users.SetLockoutEndDateAsync(user, DateTimeOffset.UtcNow.AddYears(10));
            stampBefore = (await users.GetSecurityStampAsync(user))!;
        }

        await (await _client.StartPasswordResetAsync(email)).ShouldBeAcceptedAsync();
        var reset = await _client.CompletePasswordResetAsync(email, await app.ReadCodeAsync(email, "password_reset"), TestData.NewPassword);

        reset.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await _client.LoginAsync(email, TestData.NewPassword)).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a locked or banned user stays locked");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<AppUser>>();
            var user = (await users.FindByEmailAsync(email))!;
            (await users.IsLockedOutAsync(user)).Should().BeTrue();
            (await users.GetSecurityStampAsync(user)).Should().NotBe(stampBefore, "a new security stamp ends refresh tokens and cookies issued before");
            (await users.CheckPasswordAsync(user, TestData.NewPassword)).Should().BeTrue();
        }
    }

    [Fact]
    public async Task Hole08_TheHourlyLimit_IsRolling_NoSixtyMinutesEverCarryMoreThanMaxPerHourCodes()
    {
        // a011040 counted a fixed window from the first send: codes at minutes 56–59 and 60–64 gave 9 in one hour.
        var email = TestData.Email("hole8");
        var sentAt = new List<TimeSpan>();
        var start = app.Clock.GetUtcNow();
        await (await _client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        sentAt.Add(TimeSpan.Zero);
        app.Clock.Advance(TimeSpan.FromMinutes(56));
        for (var minute = 56; minute <= 64; minute++)
        {
            // A restart: the 30-minute pending lifetime is over by minute 56, and a restart counts like a resend.
            var response = await _client.StartSignupAsync(email);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                sentAt.Add(app.Clock.GetUtcNow() - start);
            }
            else
            {
                await response.ShouldBeTooManyRequestsAsync("rate_limited");
            }

            app.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        (await app.ReadOutboxAsync(email)).Should().HaveCount(sentAt.Count);
        foreach (var from in sentAt)
        {
            sentAt.Count(t => t >= from && t < from + TimeSpan.FromHours(1)).Should().BeLessThanOrEqualTo(5, "any 60 minutes carry at most MaxPerHour codes");
        }

        sentAt.Should().HaveCount(6, "minute 0, 56, 57, 58, 59, then 60 once minute 0 has left the hour");
    }

    [Fact]
    public async Task Hole09_OnePhone_GetsNoMoreThanMaxPerHourCodesWhateverEmailsAreRotated()
    {
        var phone = UniquePhone();
        for (var i = 0; i < 8; i++)
        {
            var response = await _client.StartSignupAsync(TestData.Email("hole9-rotate"), phone: phone, channel: "sms");
            response.StatusCode.Should().BeOneOf(HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests);
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        (await app.ReadOutboxAsync(phone)).Should().HaveCount(5, "the phone's own limit holds whatever email the entry is keyed by");
    }

    [Fact]
    public async Task Hole09_AliasesOfOneMailbox_ShareItsLimit()
    {
        var local = "hole9-" + Guid.NewGuid().ToString("N")[..8];
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            answers.Add((await _client.StartSignupAsync($"{local}+{i}@example.com")).StatusCode);
            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        answers.Count(a => a == HttpStatusCode.Accepted).Should().Be(5);
        answers.Skip(5).Should().OnlyContain(a => a == HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Hole09_GmailDotsAndTags_ShareOneMailboxLimit()
    {
        var local = "h9" + Guid.NewGuid().ToString("N")[..10];
        var variants = new[] { $"{local}@gmail.com", $"{local[..2]}.{local[2..]}@gmail.com", $"{local}+a@gmail.com", $"{local[..3]}.{local[3..]}+b@googlemail.com", $"{local}+c@gmail.com", $"{local[..4]}.{local[4..]}@gmail.com" };
        var accepted = 0;
        foreach (var email in variants)
        {
            if ((await _client.StartSignupAsync(email)).StatusCode == HttpStatusCode.Accepted)
            {
                accepted++;
            }

            app.Clock.Advance(TimeSpan.FromSeconds(61));
        }

        accepted.Should().Be(5);
    }

    private static string UniquePhone() => "+1415" + Random.Shared.Next(2_000_000, 9_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task<JsonElement> MeAsync(JsonElement verified)
    {
        var me = await _client.GetMeAsync(verified.GetProperty("accessToken").GetString());
        return await me.ShouldHaveJsonAsync(HttpStatusCode.OK);
    }
}
