using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace OtpVerification.AspNetCore;

/// <summary>Which authentication schemes sign a verified user in.</summary>
public sealed class OtpSignInOptions
{
    /// <summary>The cookie scheme used with <c>?useCookies=true</c> (default: Identity's application cookie).</summary>
    public string CookieScheme { get; set; } = "Identity.Application";

    /// <summary>The bearer-token scheme whose tokens are returned otherwise (default: Identity's bearer scheme).</summary>
    public string BearerScheme { get; set; } = "Identity.Bearer";
}

/// <summary>
/// Signs a principal in with a cookie, or issues ASP.NET Core bearer tokens for it. An app without
/// authentication services (no <c>AddAuthentication()</c>) or without the configured scheme gets
/// no sign-in: the user is created and the answer carries no tokens.
/// </summary>
internal sealed class OtpSignIn(
    IServiceProvider services,
    IOptionsMonitor<BearerTokenOptions> bearerOptions,
    IOptions<OtpSignInOptions> options,
    TimeProvider timeProvider)
{
    public async Task<(string TokenType, string AccessToken, long ExpiresIn, string RefreshToken)?> SignInAsync(HttpContext context, ClaimsPrincipal principal, bool useCookies)
    {
        var names = options.Value;
        if (services.GetService(typeof(IAuthenticationSchemeProvider)) is not IAuthenticationSchemeProvider schemes)
        {
            return null;
        }

        if (useCookies)
        {
            if (await schemes.GetSchemeAsync(names.CookieScheme).ConfigureAwait(false) is not null)
            {
                await context.SignInAsync(names.CookieScheme, principal, new AuthenticationProperties { IsPersistent = false }).ConfigureAwait(false);
            }

            return null;
        }

        if (await schemes.GetSchemeAsync(names.BearerScheme).ConfigureAwait(false) is null)
        {
            return null;
        }

        // The same tickets BearerTokenHandler issues on SignInAsync, so the handler and Identity's
        // /refresh endpoint accept them.
        var bearer = bearerOptions.Get(names.BearerScheme);
        var now = timeProvider.GetUtcNow();
        var access = bearer.BearerTokenProtector.Protect(new AuthenticationTicket(principal, new AuthenticationProperties { ExpiresUtc = now + bearer.BearerTokenExpiration }, $"{names.BearerScheme}:AccessToken"));
        var refresh = bearer.RefreshTokenProtector.Protect(new AuthenticationTicket(principal, new AuthenticationProperties { ExpiresUtc = now + bearer.RefreshTokenExpiration }, $"{names.BearerScheme}:RefreshToken"));
        return ("Bearer", access, (long)bearer.BearerTokenExpiration.TotalSeconds, refresh);
    }
}
