using System.Net;
using FluentAssertions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.AspNetCore.Tests.Security;
using OtpVerification.Sample.Data;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>
/// What a signup start builds (issue 16): a refused or malformed start never builds the app's
/// completion (with Identity: a UserManager, its user store and DbContext); a well-formed start
/// checks the password with Identity's own validator without a UserManager of the request; any
/// other password validator still gets the request's real UserManager, and the policy's options
/// hold either way.
/// </summary>
public sealed class SignupStartCostTests
{
    [Fact]
    public async Task A_refused_or_malformed_start_never_builds_the_completion()
    {
        var built = new Counter();
        await using var app = new SampleAppFactory()
            .WithClientIpHeader()
            .WithSetting("OtpSignup:Abuse:MaxSendsPerClientPerHour", "1")
            .WithServices(s => CountBuilds<IOtpSignupCompletion<SignupForm>>(s, built));
        var client = app.CreateClientFrom("203.0.113.40");

        await (await client.PostAsync("/signup/start", new StringContent("email=a@example.com", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"))).ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await (await client.PostAsync("/signup/start", new StringContent("{\"email\":", System.Text.Encoding.UTF8, "application/json"))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
        built.Value.Should().Be(0, "a body that is not a JSON form needs no completion");

        await (await client.StartSignupAsync(TestData.Email("cost-first"))).ShouldBeAcceptedAsync();
        built.Value.Should().Be(1, "a well-formed start checks the app's policy through its completion");

        await (await client.StartSignupAsync(TestData.Email("cost-refused"))).ShouldBeTooManyRequestsAsync("rate_limited");
        var afterRefusal = built.Value;
        for (var i = 0; i < 5; i++)
        {
            await (await client.StartSignupAsync(TestData.Email("cost-flood"))).ShouldBeTooManyRequestsAsync("rate_limited");
        }

        built.Value.Should().Be(afterRefusal, "a client already known to be refused is answered before anything of the app is built");
    }

    [Fact]
    public async Task Identity_own_password_validator_runs_without_a_user_manager_of_the_request()
    {
        // Counted through the user store the request's manager is built around: a factory in place
        // of the app's UserManager registration would itself turn the fast path off (the policy
        // cannot know what a factory builds).
        var managers = new Counter();
        await using var app = new SampleAppFactory().WithServices(s => CountBuilds<IUserStore<AppUser>>(s, managers));
        var client = app.CreateClient();
        var email = TestData.Email("cost-policy");
        managers.Value.Should().Be(0, "mapping the endpoints builds no UserManager either");

        await (await client.StartSignupAsync(TestData.Email("cost-weak"), "short")).ShouldBeValidationProblemAsync("password");
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        managers.Value.Should().Be(0, "checking the password against Identity's options needs no user store");

        (await client.VerifySignupAsync(email, await app.ReadCodeAsync(email))).StatusCode.Should().Be(HttpStatusCode.OK);
        managers.Value.Should().BeGreaterThan(0, "creating the user goes through the request's UserManager");
        (await app.CountUsersAsync(email)).Should().Be(1);
    }

    [Fact]
    public async Task Identity_password_options_of_the_app_hold_on_the_fast_path()
    {
        await using var app = new SampleAppFactory().WithServices(s => s.Configure<IdentityOptions>(o => o.Password.RequiredLength = 24));
        var client = app.CreateClient();

        var problem = await (await client.StartSignupAsync(TestData.Email("cost-length"))).ShouldBeValidationProblemAsync("password");

        problem.GetProperty("errors").GetProperty("password").EnumerateArray().Select(e => e.GetString()).Should().Contain(m => m!.Contains("24", StringComparison.Ordinal));
        await (await client.StartSignupAsync(TestData.Email("cost-length-ok"), "S3cure-Passw0rd!-long-enough")).ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task An_app_password_validator_gets_the_request_user_manager_and_is_enforced()
    {
        var validator = new NoOtpInPasswords();
        await using var app = new SampleAppFactory().WithServices(s => s.AddScoped<IPasswordValidator<AppUser>>(_ => validator));
        var client = app.CreateClient();

        var problem = await (await client.StartSignupAsync(TestData.Email("cost-custom"), "S3cure-otp-Passw0rd!")).ShouldBeValidationProblemAsync("password");
        problem.GetProperty("errors").GetProperty("password").EnumerateArray().Select(e => e.GetString()).Should().Contain(NoOtpInPasswords.Message);
        await (await client.StartSignupAsync(TestData.Email("cost-custom-ok"))).ShouldBeAcceptedAsync();

        validator.Calls.Should().Be(2);
        validator.StoreWorked.Should().BeTrue("an app's validator may use the manager's user store, so it gets the real one");

        // Identity's own rules still apply beside the app's.
        await (await client.StartSignupAsync(TestData.Email("cost-custom-short"), "short")).ShouldBeValidationProblemAsync("password");
    }

    [Fact]
    public async Task A_subclass_of_identity_password_validator_gets_the_request_user_manager()
    {
        var seen = new List<bool>();
        await using var app = new SampleAppFactory().WithServices(s =>
        {
            s.RemoveAll<IPasswordValidator<AppUser>>();
            s.AddScoped<IPasswordValidator<AppUser>>(_ => new StrictPasswordValidator(seen));
        });
        var client = app.CreateClient();

        await (await client.StartSignupAsync(TestData.Email("cost-subclass"))).ShouldBeAcceptedAsync();

        seen.Should().Equal(true);
    }

    private static void CountBuilds<TService>(IServiceCollection services, Counter counter)
        where TService : class
    {
        var original = services.Last(d => d.ServiceType == typeof(TService));
        services.Add(ServiceDescriptor.Describe(
            typeof(TService),
            sp =>
            {
                counter.Increment();
                return original.ImplementationFactory is { } factory ? factory(sp) : ActivatorUtilities.CreateInstance(sp, original.ImplementationType!);
            },
            original.Lifetime));
    }

    private sealed class Counter
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }

    /// <summary>An app's validator that asks the user store something (as password-history validators do).</summary>
    private sealed class NoOtpInPasswords : IPasswordValidator<AppUser>
    {
        public const string Message = "Passwords must not contain 'otp'.";

        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public bool StoreWorked { get; private set; } = true;

        public async Task<IdentityResult> ValidateAsync(UserManager<AppUser> manager, AppUser user, string? password)
        {
            Interlocked.Increment(ref _calls);
            try
            {
                await manager.FindByNameAsync("nobody@example.com");
            }
            catch (NotSupportedException)
            {
                StoreWorked = false;
            }

            return password?.Contains("otp", StringComparison.OrdinalIgnoreCase) == true
                ? IdentityResult.Failed(new IdentityError { Code = "PasswordNoOtp", Description = Message })
                : IdentityResult.Success;
        }
    }

    /// <summary>A subclass of Identity's validator: it may read more of the manager than the options.</summary>
    private sealed class StrictPasswordValidator(List<bool> seen) : PasswordValidator<AppUser>
    {
        public override async Task<IdentityResult> ValidateAsync(UserManager<AppUser> manager, AppUser user, string? password)
        {
            lock (seen)
            {
                seen.Add(manager.SupportsQueryableUsers);
            }

            return await base.ValidateAsync(manager, user, password);
        }
    }
}
