using System.Security.Claims;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The app's registered accounts, as passwordless sign-in (<c>MapOtpSignIn</c>) and phone-first
/// verification see them: whether an address has an account, and the principal to sign in once a
/// code sent to it was verified. ASP.NET Core Identity's is registered by
/// <c>AddIdentityUsers&lt;TUser&gt;()</c>. Resolved per request (scoped).
/// </summary>
public interface IOtpAccounts
{
    /// <summary>
    /// Whether an account is identified by <paramref name="address"/> (an email account by its
    /// email, a phone account by its E.164 number) that the account has confirmed: an address the
    /// account never proved must count as unknown, or a code sent to its owner would open an
    /// account someone else created for it (pre-hijacking). Answer at the same cost either way:
    /// the time of the answer must not tell registered addresses apart.
    /// </summary>
    /// <param name="address">The normalised address and its channel.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when an account uses the address.</returns>
    ValueTask<bool> ExistsAsync(OtpDestination address, CancellationToken cancellationToken);

    /// <summary>
    /// The account a verified sign-in code opens. <see langword="null"/> when it may not be signed
    /// in (gone meanwhile, locked out, the address no longer its confirmed own): the endpoint then answers as for a wrong code, so a
    /// lockout is not announced.
    /// </summary>
    /// <param name="verified">The address that received the right code.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The account to sign in, or <see langword="null"/>; throw for faults of the user database (503, the code stays usable).</returns>
    ValueTask<OtpAccountSignIn?> SignInAsync(OtpDestination verified, CancellationToken cancellationToken);
}

/// <summary>An account that a verified code signs in.</summary>
/// <param name="UserId">The user's id.</param>
/// <param name="Principal">The principal to sign in (cookie or bearer tokens).</param>
/// <param name="Email">The account's email, if it has one.</param>
/// <param name="Phone">The account's phone, if it has one.</param>
public sealed record OtpAccountSignIn(string UserId, ClaimsPrincipal Principal, string? Email, string? Phone);
