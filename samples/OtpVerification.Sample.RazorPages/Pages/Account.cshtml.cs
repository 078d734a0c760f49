using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using OtpVerification.Sample.RazorPages.Data;

namespace OtpVerification.Sample.RazorPages.Pages;

/// <summary>The signed-in user's page (authorised by convention in Program.cs).</summary>
/// <param name="db">The user database.</param>
public sealed class AccountModel(UsersDbContext db) : PageModel
{
    /// <summary>The signed-in user.</summary>
    public User CurrentUser { get; private set; } = null!;

    /// <summary>Shows the user's row.</summary>
    /// <returns>The page, or a sign-out when the row is gone.</returns>
    public async Task<IActionResult> OnGetAsync()
    {
        var id = Guid.TryParse(User.FindFirstValue(ClaimTypes.NameIdentifier), out var parsed) ? parsed : Guid.Empty;
        if (await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, HttpContext.RequestAborted) is not { } user)
        {
            await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return RedirectToPage("/Login");
        }

        CurrentUser = user;
        return Page();
    }

    /// <summary>Signs out.</summary>
    /// <returns>A redirect to the sign-in page.</returns>
    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return RedirectToPage("/Login");
    }
}
