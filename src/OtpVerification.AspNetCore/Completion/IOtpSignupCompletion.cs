using System.Security.Claims;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The app's side of signup: the duplicate check and policy checks at start, and the creation of
/// the user once the code is verified. ASP.NET Core Identity's implementation is registered by
/// <c>AddIdentityUsers&lt;TUser&gt;()</c>; register your own with <c>CompleteWith&lt;THandler&gt;()</c>.
/// Resolved per request (scoped).
/// </summary>
/// <typeparam name="TForm">The signup form.</typeparam>
public interface IOtpSignupCompletion<in TForm>
    where TForm : OtpSignupForm
{
    /// <summary>
    /// Whether an account already uses this email. Asked at start only with
    /// <c>OtpSignup:RevealExistingAccounts=true</c>; otherwise a start for a registered address is
    /// treated like any other and <see cref="CompleteAsync"/> answers <see cref="OtpCompletionResult.Taken"/>.
    /// </summary>
    /// <param name="email">The normalised email.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the email is registered.</returns>
    ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken);

    /// <summary>
    /// Checks the form against the app's rules at start, before anything is stored: the password
    /// policy, and every rule the user store applies to the address (an address start accepts
    /// must be one <see cref="CompleteAsync"/> can complete). Never reveal here whether the
    /// address is registered. Nothing is written and the password is not hashed.
    /// </summary>
    /// <param name="form">The form, email already normalised.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Errors by camelCase field name; empty when the form is acceptable.</returns>
    ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(TForm form, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the user from a form whose code was verified. Only <paramref name="verified"/> was
    /// proven: mark that address verified (the email for an emailed code, the phone for a texted
    /// one), never the other.
    /// </summary>
    /// <param name="form">The form as it was started.</param>
    /// <param name="verified">The destination that received the right code.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The result (<see cref="OtpCompletionResult.Taken"/> when the address is registered already); throw for faults of the user database (answered with 503, the code stays usable).</returns>
    ValueTask<OtpCompletionResult> CompleteAsync(TForm form, OtpDestination verified, CancellationToken cancellationToken);
}

/// <summary>The outcome of completing a signup.</summary>
public sealed class OtpCompletionResult
{
    private OtpCompletionResult()
    {
    }

    /// <summary>Whether a user was created.</summary>
    public bool Succeeded { get; private init; }

    /// <summary>Whether the email was taken by someone else meanwhile.</summary>
    public bool EmailTaken { get; private init; }

    /// <summary>The new user's id.</summary>
    public string? UserId { get; private init; }

    /// <summary>The principal to sign in, or <see langword="null"/> to skip sign-in.</summary>
    public ClaimsPrincipal? Principal { get; private init; }

    /// <summary>Errors by camelCase field name when the form was refused.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; private init; } = new Dictionary<string, string[]>();

    /// <summary>A user was created.</summary>
    /// <param name="userId">Its id.</param>
    /// <param name="principal">The principal to sign in, or <see langword="null"/>.</param>
    /// <returns>The result.</returns>
    public static OtpCompletionResult Created(string userId, ClaimsPrincipal? principal)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return new() { Succeeded = true, UserId = userId, Principal = principal };
    }

    /// <summary>The email is registered already.</summary>
    /// <returns>The result.</returns>
    public static OtpCompletionResult Taken() => new() { EmailTaken = true };

    /// <summary>The form was refused (answered with 400 <c>validation</c>).</summary>
    /// <param name="errors">Errors by camelCase field name.</param>
    /// <returns>The result.</returns>
    public static OtpCompletionResult Invalid(IReadOnlyDictionary<string, string[]> errors) => new() { Errors = errors ?? throw new ArgumentNullException(nameof(errors)) };
}

/// <summary>The app's side of password reset. ASP.NET Core Identity's is registered by <c>AddIdentityUsers&lt;TUser&gt;()</c>.</summary>
public interface IOtpPasswordReset
{
    /// <summary>Whether an account uses this email.</summary>
    /// <param name="email">The normalised email.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the email is registered.</returns>
    ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken);

    /// <summary>Checks a new password against the policy, before the code is used.</summary>
    /// <param name="email">The normalised email.</param>
    /// <param name="newPassword">The new password.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Errors by camelCase field name; empty when acceptable.</returns>
    ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(string email, string newPassword, CancellationToken cancellationToken);

    /// <summary>Replaces the password of a verified address; the old one stops working.</summary>
    /// <param name="email">The normalised, verified email.</param>
    /// <param name="newPassword">The new password.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when the password was replaced; <see langword="false"/> when the account is gone.</returns>
    ValueTask<bool> ResetAsync(string email, string newPassword, CancellationToken cancellationToken);
}
