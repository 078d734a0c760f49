using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using OtpVerification.Sample.RazorPages.Data;
using OtpVerification.Sample.RazorPages.Signup;

namespace OtpVerification.Sample.RazorPages.Pages;

/// <summary>Password sign-in against the app's own user table.</summary>
/// <param name="db">The user database.</param>
public sealed class LoginModel(UsersDbContext db) : PageModel
{
    /// <summary>The email typed.</summary>
    [BindProperty]
    public string? Email { get; set; }

    /// <summary>The password typed.</summary>
    [BindProperty]
    public string? Password { get; set; }

    /// <summary>Shows the form.</summary>
    public void OnGet()
    {
    }

    /// <summary>Checks the password and signs in.</summary>
    /// <returns>The account page, or this page with an error.</returns>
    public async Task<IActionResult> OnPostAsync()
    {
        if (OtpAddress.TryNormalizeEmail(Email, out var email)
            && await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Email == email, HttpContext.RequestAborted) is { } user
            && UserTableCompletion.CheckPassword(user, Password ?? string.Empty))
        {
            await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, UserTableCompletion.Principal(user));
            return RedirectToPage("/Account");
        }

        ModelState.AddModelError(string.Empty, "The email or password is wrong.");
        return Page();
    }
}
