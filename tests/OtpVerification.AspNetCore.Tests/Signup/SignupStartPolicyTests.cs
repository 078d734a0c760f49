using System.Net;
using FluentAssertions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Sample.Data;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Signup;

/// <summary>
/// The app's password policy at signup start is the one its own <see cref="UserManager{TUser}"/>
/// applies (issue 16's fast path must not change it): a manager subclass's own validators and
/// options, and an app that protects personal data.
/// </summary>
public sealed class SignupStartPolicyTests
{
    [Fact]
    public async Task A_password_validator_added_by_the_app_user_manager_holds_at_start()
    {
        await using var app = new SampleAppFactory().WithServices(s =>
            new IdentityBuilder(typeof(AppUser), s).AddUserManager<NoAnaUserManager>());
        var client = app.CreateClient();
        var email = TestData.Email("policy-manager");

        var problem = await (await client.StartSignupAsync(email, "Ana-S3cure-Passw0rd!")).ShouldBeValidationProblemAsync("password");

        problem.GetProperty("errors").GetProperty("password").EnumerateArray().Select(e => e.GetString()).Should().Contain(NoAnaUserManager.Message);
        (await app.ReadOutboxAsync(email)).Should().BeEmpty("a password the app's policy refuses never costs a code");
        await (await client.StartSignupAsync(TestData.Email("policy-manager-ok"))).ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task The_options_of_the_app_user_manager_hold_at_start()
    {
        await using var app = new SampleAppFactory().WithServices(s =>
            new IdentityBuilder(typeof(AppUser), s).AddUserManager<LongPasswordUserManager>());
        var client = app.CreateClient();

        await (await client.StartSignupAsync(TestData.Email("policy-options"))).ShouldBeValidationProblemAsync("password");
        await (await client.StartSignupAsync(TestData.Email("policy-options-ok"), "S3cure-Passw0rd!-long-enough-for-it")).ShouldBeAcceptedAsync();
    }

    [Fact]
    public async Task A_start_works_when_the_app_protects_personal_data()
    {
        await using var app = new SampleAppFactory().WithServices(s =>
        {
            s.Configure<IdentityOptions>(o => o.Stores.ProtectPersonalData = true);
            new IdentityBuilder(typeof(AppUser), s).AddPersonalDataProtection<PrefixProtector, OneKeyRing>();
        });
        var client = app.CreateClient();
        var email = TestData.Email("policy-protected");

        await (await client.StartSignupAsync(TestData.Email("policy-protected-weak"), TestData.WeakPassword)).ShouldBeValidationProblemAsync("password");
        await (await client.StartSignupAsync(email)).ShouldBeAcceptedAsync();
        (await client.VerifySignupAsync(email, await app.ReadCodeAsync(email))).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>An app's user manager with a rule of its own, added to its validators (as a manager subclass may).</summary>
    private sealed class NoAnaUserManager : UserManager<AppUser>
    {
        public const string Message = "Passwords must not contain 'ana'.";

        public NoAnaUserManager(IUserStore<AppUser> store, IOptions<IdentityOptions> optionsAccessor, IPasswordHasher<AppUser> passwordHasher, IEnumerable<IUserValidator<AppUser>> userValidators, IEnumerable<IPasswordValidator<AppUser>> passwordValidators, ILookupNormalizer keyNormalizer, IdentityErrorDescriber errors, IServiceProvider services, ILogger<UserManager<AppUser>> logger)
            : base(store, optionsAccessor, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
        {
            PasswordValidators.Add(new NoAna());
        }

        private sealed class NoAna : IPasswordValidator<AppUser>
        {
            public Task<IdentityResult> ValidateAsync(UserManager<AppUser> manager, AppUser user, string? password)
                => Task.FromResult(password?.Contains("ana", StringComparison.OrdinalIgnoreCase) == true
                    ? IdentityResult.Failed(new IdentityError { Code = "PasswordNoAna", Description = Message })
                    : IdentityResult.Success);
        }
    }

    /// <summary>An app's user manager with stricter options of its own (a tenant's, say).</summary>
    private sealed class LongPasswordUserManager : UserManager<AppUser>
    {
        public LongPasswordUserManager(IUserStore<AppUser> store, IOptions<IdentityOptions> optionsAccessor, IPasswordHasher<AppUser> passwordHasher, IEnumerable<IUserValidator<AppUser>> userValidators, IEnumerable<IPasswordValidator<AppUser>> passwordValidators, ILookupNormalizer keyNormalizer, IdentityErrorDescriber errors, IServiceProvider services, ILogger<UserManager<AppUser>> logger)
            : base(store, optionsAccessor, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
        {
            var strict = new IdentityOptions();
            strict.User.RequireUniqueEmail = optionsAccessor.Value.User.RequireUniqueEmail;
            strict.Password.RequiredLength = 30;
            Options = strict;
        }
    }

    private sealed class OneKeyRing : ILookupProtectorKeyRing
    {
        public string CurrentKeyId => "1";

        public string this[string keyId] => "key";

        public IEnumerable<string> GetAllKeyIds() => ["1"];
    }

    private sealed class PrefixProtector : ILookupProtector
    {
        public string? Protect(string keyId, string? data) => data is null ? null : "p:" + data;

        public string? Unprotect(string keyId, string? data) => data is null ? null : data[2..];
    }
}
