using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using OtpVerification.AspNetCore;
using OtpVerification.Sample.RazorPages.Data;

namespace OtpVerification.Sample.RazorPages.Signup;

/// <summary>
/// Turns a verified signup into a row of the app's own user table (registered with
/// <c>CompleteWith&lt;UserTableCompletion&gt;()</c>): the policy checks at start, the duplicate
/// check, and the creation once the code is verified. The password is hashed here, once.
/// </summary>
/// <param name="db">The user database.</param>
/// <param name="time">The clock.</param>
public sealed class UserTableCompletion(UsersDbContext db, TimeProvider time) : IOtpSignupCompletion<SignupForm>
{
    private static readonly PasswordHasher<User> Hasher = new();

    /// <inheritdoc />
    public async ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken)
        => await db.Users.AnyAsync(u => u.Email == email, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(SignupForm form, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(form);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var password = form.Password ?? string.Empty;
        if (password.Length < 10 || !password.Any(char.IsDigit) || !password.Any(char.IsLetter))
        {
            errors["password"] = ["Use at least 10 characters, with letters and digits."];
        }

        if (string.IsNullOrWhiteSpace(form.Name))
        {
            errors["name"] = ["Enter your name."];
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, string[]>>(errors);
    }

    /// <inheritdoc />
    public async ValueTask<OtpCompletionResult> CompleteAsync(SignupForm form, OtpDestination verified, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(form);
        var email = form.Email!;
        if (await AccountExistsAsync(email, cancellationToken))
        {
            return OtpCompletionResult.Taken();
        }

        var user = new User
        {
            Id = Guid.NewGuid(),
            Email = email,
            Name = form.Name!.Trim(),
            // Only the address that received the code is proven.
            EmailVerified = verified.Channel == OtpChannel.Email && string.Equals(verified.Address, email, StringComparison.Ordinal),
            PasswordHash = string.Empty,
            CreatedAt = time.GetUtcNow(),
        };
        user.PasswordHash = Hasher.HashPassword(user, form.Password!);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.Entry(user).State = EntityState.Detached;
            if (await AccountExistsAsync(email, CancellationToken.None))
            {
                // Created by a concurrent signup meanwhile: the unique index kept one.
                return OtpCompletionResult.Taken();
            }

            throw;
        }

        return OtpCompletionResult.Created(user.Id.ToString(), Principal(user));
    }

    /// <summary>Checks a password against the stored hash.</summary>
    /// <param name="user">The user.</param>
    /// <param name="password">The password typed.</param>
    /// <returns>Whether it matches.</returns>
    public static bool CheckPassword(User user, string password)
        => Hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed;

    /// <summary>The cookie principal of a user.</summary>
    /// <param name="user">The user.</param>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal Principal(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, user.Id.ToString()), new Claim(ClaimTypes.Email, user.Email), new Claim(ClaimTypes.Name, user.Name)],
            CookieAuthenticationDefaults.AuthenticationScheme));
    }
}
