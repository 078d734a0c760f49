using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OtpVerification.AspNetCore;

/// <summary>Signup completion through ASP.NET Core Identity's <see cref="UserManager{TUser}"/>.</summary>
/// <remarks>
/// The <see cref="UserManager{TUser}"/> (and with it the user store and its DbContext) is resolved
/// only when a call needs the user database: the start of a signup only checks the password
/// policy, which with Identity's own password validator needs the options alone
/// (<see cref="IdentityPasswordPolicy{TUser}"/>).
/// </remarks>
internal sealed class IdentityOtpSignupCompletion<TUser, TForm>(
    IServiceProvider services,
    IdentityPasswordPolicy<TUser> policy,
    IdentityUserMapping<TUser, TForm> mapping,
    OtpTexts texts) : IOtpSignupCompletion<TForm>
    where TUser : IdentityUser, new()
    where TForm : OtpSignupForm
{
    private UserManager<TUser>? _users;

    private UserManager<TUser> Users => _users ??= services.GetRequiredService<UserManager<TUser>>();

    public async ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken)
    {
        // Both lookups every time: stopping after the first hit would make a registered address answer faster.
        var byEmail = await Users.FindByEmailAsync(email).ConfigureAwait(false);
        var byName = await Users.FindByNameAsync(email).ConfigureAwait(false);
        return byEmail is not null || byName is not null;
    }

    public async ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(TForm form, CancellationToken cancellationToken)
    {
        var errors = await policy.ValidateAsync(services, () => Users, () => NewUser(form), texts, form.Password!, "password").ConfigureAwait(false);

        // The email becomes the user name: an address Identity's user-name rules refuse must be
        // refused here, before a code is spent on it. Only the characters are checked: Identity's
        // own UserValidator also looks up duplicates, which would tell registered addresses apart.
        var allowed = (policy.ManagerIsIdentityOwn ? policy.Options : Users.Options).User.AllowedUserNameCharacters;
        if (!string.IsNullOrEmpty(allowed) && form.Email is { } email && email.Any(c => !allowed.Contains(c, StringComparison.Ordinal)))
        {
            var map = new Dictionary<string, string[]>(errors, StringComparer.Ordinal)
            {
                ["email"] = [texts.Get("Validation.EmailCharacters", System.Globalization.CultureInfo.CurrentUICulture)],
            };
            return map;
        }

        return errors;
    }

    public async ValueTask<OtpCompletionResult> CompleteAsync(TForm form, OtpDestination verified, CancellationToken cancellationToken)
    {
        var user = NewUser(form);

        // Only the destination that received the right code is proven, and only a proven address
        // becomes the account's identity. A texted code proves the phone: the account is the
        // phone's (user name = the E.164 number) and the form's email, never proven, is not
        // stored, so nobody can squat someone's email by texting themselves a code, and a taken
        // email is never revealed to the holder of a phone.
        if (verified.Channel == OtpChannel.Sms && string.Equals(verified.Address, form.Phone, StringComparison.Ordinal))
        {
            user.UserName = form.Phone;
            user.Email = null;
            user.EmailConfirmed = false;
            user.PhoneNumberConfirmed = true;
        }
        else if (verified.Channel == OtpChannel.Email && string.Equals(verified.Address, form.Email, StringComparison.Ordinal))
        {
            user.EmailConfirmed = true;
            user.PhoneNumberConfirmed = false;
        }
        else
        {
            // The destination is neither address of the form: nothing was proven about this form.
            throw new InvalidOperationException("The verified destination is not an address of the signup form.");
        }
        var result = await Users.CreateAsync(user, form.Password!).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            if (result.Errors.Any(e => e.Code is nameof(IdentityErrorDescriber.DuplicateEmail) or nameof(IdentityErrorDescriber.DuplicateUserName)))
            {
                return OtpCompletionResult.Taken();
            }

            return OtpCompletionResult.Invalid(IdentityPasswordPolicy.ToErrors(Users.Options, Users.ErrorDescriber, texts, result.Errors, "password", user.UserName));
        }

        var principal = await services.GetRequiredService<IUserClaimsPrincipalFactory<TUser>>().CreateAsync(user).ConfigureAwait(false);
        return OtpCompletionResult.Created(await Users.GetUserIdAsync(user).ConfigureAwait(false), principal);
    }

    private TUser NewUser(TForm form)
    {
        var user = new TUser { UserName = form.Email, Email = form.Email, PhoneNumber = form.Phone };
        mapping.Configure?.Invoke(user, form);
        return user;
    }
}

/// <summary>How a verified form fills in a new Identity user (beyond email, user name and phone).</summary>
internal sealed class IdentityUserMapping<TUser, TForm>(Action<TUser, TForm>? configure)
{
    public Action<TUser, TForm>? Configure { get; } = configure;
}

/// <summary>
/// Password reset through ASP.NET Core Identity: the new hash and a new security stamp in one
/// update, so the old password and every refresh token or cookie issued before stop working. A
/// lockout is never lifted: a locked or banned user stays locked.
/// </summary>
internal sealed class IdentityOtpPasswordReset<TUser>(UserManager<TUser> users, OtpTexts texts) : IOtpPasswordReset
    where TUser : IdentityUser, new()
{
    public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken)
        => IdentityAccounts.ExistsAsync(users, email, cancellationToken);

    public async ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(string email, string newPassword, CancellationToken cancellationToken)
    {
        // The same policy whether or not the account exists, so the answer reveals nothing.
        var user = new TUser { UserName = email, Email = email };
        return await IdentityPasswordPolicy.ValidateAsync(users, texts, user, newPassword, "newPassword").ConfigureAwait(false);
    }

    public async ValueTask<bool> ResetAsync(string email, string newPassword, CancellationToken cancellationToken)
    {
        var user = await users.FindByEmailAsync(email).ConfigureAwait(false);
        if (user is null)
        {
            return false;
        }

        user.PasswordHash = users.PasswordHasher.HashPassword(user, newPassword);

        // The code was emailed to this address, so it is proven; lockout fields are left alone.
        user.EmailConfirmed = true;
        var result = await users.UpdateSecurityStampAsync(user).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException("The user store refused the password update: " + string.Join(", ", result.Errors.Select(e => e.Code)));
        }

        return true;
    }
}

/// <summary>Whether an account uses an email, at the same cost whether or not it does.</summary>
internal static class IdentityAccounts
{
    public static async ValueTask<bool> ExistsAsync<TUser>(UserManager<TUser> users, string email, CancellationToken cancellationToken)
        where TUser : IdentityUser
    {
        // One indexed query for one column: loading the whole user (FindByEmailAsync) would make a
        // registered address answer measurably slower than an unknown one, and costs more.
        if (users.SupportsQueryableUsers)
        {
            var normalized = users.NormalizeEmail(email);
            if (users.Users.Where(u => u.NormalizedEmail == normalized).Select(u => u.Id).Take(1) is IAsyncEnumerable<string> rows)
            {
                await foreach (var _ in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }

                return false;
            }
        }

        return await users.FindByEmailAsync(email).ConfigureAwait(false) is not null;
    }

    /// <summary>
    /// Whether an account has this user name (an email or an E.164 phone) and owns it as a
    /// confirmed address on its channel (its email, confirmed; or its phone number, confirmed), at
    /// the same cost whether or not it does. An address the account never proved is not one a
    /// code may open: an account created for someone else's address (pre-hijacking) stays shut.
    /// </summary>
    public static async ValueTask<bool> ExistsByNameAsync<TUser>(UserManager<TUser> users, OtpDestination address, CancellationToken cancellationToken)
        where TUser : IdentityUser
    {
        if (users.SupportsQueryableUsers)
        {
            var normalized = users.NormalizeName(address.Address);
            var query = users.Users.Where(u => u.NormalizedUserName == normalized);
            if (address.Channel == OtpChannel.Email)
            {
                var normalizedEmail = users.NormalizeEmail(address.Address);
                query = query.Where(u => u.NormalizedEmail == normalizedEmail && u.EmailConfirmed);
            }
            else
            {
                var phone = address.Address;
                query = query.Where(u => u.PhoneNumber == phone && u.PhoneNumberConfirmed);
            }

            if (query.Select(u => u.Id).Take(1) is IAsyncEnumerable<string> rows)
            {
                await foreach (var _ in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }

                return false;
            }
        }

        return Owns(users, await users.FindByNameAsync(address.Address).ConfigureAwait(false), address);
    }

    /// <summary>Whether <paramref name="user"/> has <paramref name="address"/> as its own, confirmed address on that channel.</summary>
    public static bool Owns<TUser>(UserManager<TUser> users, TUser? user, OtpDestination address)
        where TUser : IdentityUser
        => user is not null && (address.Channel == OtpChannel.Email
            ? user.EmailConfirmed && string.Equals(users.NormalizeEmail(user.Email), users.NormalizeEmail(address.Address), StringComparison.Ordinal)
            : user.PhoneNumberConfirmed && string.Equals(user.PhoneNumber, address.Address, StringComparison.Ordinal));
}

internal static class IdentityPasswordPolicy
{
    public static async Task<IReadOnlyDictionary<string, string[]>> ValidateAsync<TUser>(UserManager<TUser> users, OtpTexts texts, TUser user, string password, string field)
        where TUser : class
    {
        var failures = new List<IdentityError>();
        foreach (var validator in users.PasswordValidators)
        {
            var result = await validator.ValidateAsync(users, user, password).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                failures.AddRange(result.Errors);
            }
        }

        return failures.Count == 0 ? new Dictionary<string, string[]>() : ToErrors(users.Options, users.ErrorDescriber, texts, failures, field, null);
    }

    /// <summary>
    /// Identity's errors as validation messages by field, in the request's culture: with Identity's
    /// own (English) describer, each known error code is worded by the texts (<c>Identity.{code}</c>);
    /// an app's own <see cref="IdentityErrorDescriber"/> (its translations) is kept as it words them.
    /// </summary>
    public static Dictionary<string, string[]> ToErrors(IdentityOptions options, IdentityErrorDescriber describer, OtpTexts texts, IEnumerable<IdentityError> errors, string passwordField, string? userName)
    {
        var culture = System.Globalization.CultureInfo.CurrentUICulture;
        var ownWording = describer.GetType() == typeof(IdentityErrorDescriber);
        string Describe(IdentityError error)
        {
            object? arg = error.Code switch
            {
                nameof(IdentityErrorDescriber.PasswordTooShort) => options.Password.RequiredLength,
                nameof(IdentityErrorDescriber.PasswordRequiresUniqueChars) => options.Password.RequiredUniqueChars,
                nameof(IdentityErrorDescriber.InvalidEmail) or nameof(IdentityErrorDescriber.InvalidUserName) => userName,
                _ => null,
            };
            return ownWording && texts.Find("Identity." + error.Code, culture) is { } text
                ? string.Format(culture, text, arg)
                : error.Description;
        }

        var map = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var error in errors)
        {
            var field = error.Code.StartsWith("Password", StringComparison.Ordinal) ? passwordField
                : error.Code.Contains("Email", StringComparison.Ordinal) || error.Code.Contains("UserName", StringComparison.Ordinal) ? "email"
                : "body";
            map[field] = [.. map.GetValueOrDefault(field, []), Describe(error)];
        }

        return map;
    }
}

/// <summary>
/// Accounts through ASP.NET Core Identity: an account is found by its user name, which is the
/// address its signup proved (the email, or the E.164 phone of an account a texted code created).
/// A locked-out user is never signed in, nor one whose email (or phone) is not its own confirmed one.
/// </summary>
internal sealed class IdentityOtpAccounts<TUser>(UserManager<TUser> users, IUserClaimsPrincipalFactory<TUser> principals) : IOtpAccounts
    where TUser : IdentityUser, new()
{
    public ValueTask<bool> ExistsAsync(OtpDestination address, CancellationToken cancellationToken)
        => IdentityAccounts.ExistsByNameAsync(users, address, cancellationToken);

    public async ValueTask<OtpAccountSignIn?> SignInAsync(OtpDestination verified, CancellationToken cancellationToken)
    {
        var user = await users.FindByNameAsync(verified.Address).ConfigureAwait(false);
        if (user is null || await users.IsLockedOutAsync(user).ConfigureAwait(false))
        {
            return null;
        }

        // The user name matched; the address must also be the account's own, confirmed, on that
        // channel (checked again here: it may have changed since start).
        if (!IdentityAccounts.Owns(users, user, verified))
        {
            return null;
        }

        var principal = await principals.CreateAsync(user).ConfigureAwait(false);
        return new OtpAccountSignIn(await users.GetUserIdAsync(user).ConfigureAwait(false), principal, user.Email, user.PhoneNumber);
    }
}

/// <summary>
/// Identity's password policy at the cost of its options alone. Identity's own
/// <see cref="PasswordValidator{TUser}"/> reads nothing of the <see cref="UserManager{TUser}"/> it is
/// handed but its <see cref="UserManager{TUser}.Options"/>: when it is the only kind of password
/// validator registered, and the request's manager would be Identity's own
/// <see cref="UserManager{TUser}"/> built by the container around the app's
/// <see cref="IOptions{IdentityOptions}"/>, it is handed a manager built once here around no user store, so
/// checking a password at the start of a signup never builds the request's user manager, user
/// store and DbContext. Anything else — another validator (the app's, a library's, a subclass of
/// Identity's), a manager of the app's (<c>AddUserManager&lt;T&gt;()</c>, a factory: it may add
/// validators or have options of its own), options registered by the app, personal data
/// protection — gets the request's own <see cref="UserManager{TUser}"/>, as before.
/// </summary>
internal sealed class IdentityPasswordPolicy<TUser> : IDisposable
    where TUser : class, new()
{
    private readonly UserManager<TUser>? _optionsOnly;
    private readonly TUser _anyUser = new();

    public IdentityPasswordPolicy(IOptions<IdentityOptions> options, IServiceCollection? registrations = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;

        // Unknown registrations (the policy built by hand) never take the fast path.
        if (registrations is not null && IsIdentityOwnManager(registrations) && !Options.Stores.ProtectPersonalData)
        {
            _optionsOnly = new UserManager<TUser>(new NoUserStore(), options, null!, null!, null!, null!, new IdentityErrorDescriber(), null!, Microsoft.Extensions.Logging.Abstractions.NullLogger<UserManager<TUser>>.Instance);
        }
    }

    /// <summary>Identity's options, as a stock <see cref="UserManager{TUser}"/> reads them.</summary>
    public IdentityOptions Options { get; }

    /// <summary>
    /// Whether the request's manager is Identity's own, built by the container (so its options are
    /// <see cref="Options"/>); otherwise the request's manager is asked for its options and validators.
    /// </summary>
    public bool ManagerIsIdentityOwn => _optionsOnly is not null;

    /// <summary>
    /// The policy's errors for <paramref name="password"/> by field; <paramref name="users"/> and
    /// <paramref name="user"/> are asked for only when the request's manager or a validator is not Identity's own.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string[]>> ValidateAsync(IServiceProvider services, Func<UserManager<TUser>> users, Func<TUser> user, OtpTexts texts, string password, string field)
    {
        var optionsOnly = _optionsOnly;
        IPasswordValidator<TUser>[] validators = [];
        if (optionsOnly is not null)
        {
            var resolved = services.GetServices<IPasswordValidator<TUser>>();
            validators = resolved as IPasswordValidator<TUser>[] ?? [.. resolved];
        }

        if (optionsOnly is null || validators.Length == 0 || !Array.TrueForAll(validators, v => v.GetType() == typeof(PasswordValidator<TUser>)))
        {
            return await IdentityPasswordPolicy.ValidateAsync(users(), texts, user(), password, field).ConfigureAwait(false);
        }

        List<IdentityError>? failures = null;
        foreach (var validator in validators)
        {
            var result = await validator.ValidateAsync(optionsOnly, _anyUser, password).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                (failures ??= []).AddRange(result.Errors);
            }
        }

        return failures is null
            ? new Dictionary<string, string[]>()
            : IdentityPasswordPolicy.ToErrors(Options, ((PasswordValidator<TUser>)validators[0]).Describer, texts, failures, field, null);
    }

    /// <summary>
    /// Whether the container builds the request's manager as Identity's own <see cref="UserManager{TUser}"/>
    /// by its constructor (not a subclass, a factory or an instance of the app's) with the options
    /// of the options framework (no <see cref="IOptions{IdentityOptions}"/> of the app's).
    /// </summary>
    private static bool IsIdentityOwnManager(IServiceCollection registrations)
    {
        ServiceDescriptor? manager = null;
        foreach (var descriptor in registrations)
        {
            if (descriptor.ServiceType == typeof(UserManager<TUser>) && !descriptor.IsKeyedService)
            {
                manager = descriptor;
            }
            else if (descriptor.ServiceType == typeof(IOptions<IdentityOptions>))
            {
                return false;
            }
        }

        return manager is { ImplementationType: { } type, ImplementationFactory: null, ImplementationInstance: null }
            && type == typeof(UserManager<TUser>);
    }

    public void Dispose() => _optionsOnly?.Dispose();

    /// <summary>The store of the options-only manager: Identity's password validator never calls it.</summary>
    private sealed class NoUserStore : IUserStore<TUser>
    {
        private static NotSupportedException NotHere() => new("This UserManager checks passwords against Identity's options only; it has no user store.");

        public Task<IdentityResult> CreateAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public Task<IdentityResult> DeleteAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public Task<TUser?> FindByIdAsync(string userId, CancellationToken cancellationToken) => throw NotHere();

        public Task<TUser?> FindByNameAsync(string normalizedUserName, CancellationToken cancellationToken) => throw NotHere();

        public Task<string?> GetNormalizedUserNameAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public Task<string> GetUserIdAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public Task<string?> GetUserNameAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public Task SetNormalizedUserNameAsync(TUser user, string? normalizedName, CancellationToken cancellationToken) => throw NotHere();

        public Task SetUserNameAsync(TUser user, string? userName, CancellationToken cancellationToken) => throw NotHere();

        public Task<IdentityResult> UpdateAsync(TUser user, CancellationToken cancellationToken) => throw NotHere();

        public void Dispose()
        {
        }
    }
}
