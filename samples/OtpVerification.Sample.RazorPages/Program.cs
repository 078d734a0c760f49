using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using OtpVerification.Sample.RazorPages.Data;
using OtpVerification.Sample.RazorPages.Signup;

namespace OtpVerification.Sample.RazorPages;

/// <summary>
/// The Razor Pages sample's entry point. A class in a namespace rather than top-level statements,
/// so its <c>Program</c> does not clash with the other sample's in a test project that hosts both.
/// </summary>
public static class Program
{
    /// <summary>Builds and runs the app.</summary>
    /// <param name="args">The command line (<c>--urls</c>, <c>--Key=Value</c>).</param>
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // The app's own user table: SQLite through EF Core, no ASP.NET Core Identity.
        builder.Services.AddDbContext<UsersDbContext>(o => o.UseSqlite(builder.Configuration.GetConnectionString("Users") ?? "Data Source=razor-users.db"));

        // Server-rendered pages; every POST handler checks the antiforgery token (the Razor Pages default).
        builder.Services.AddRazorPages(o => o.Conventions.AuthorizePage("/Account"));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.LoginPath = "/Login";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            });
        builder.Services.AddAuthorization();

        // OtpVerification: the engine, the in-memory pending store and (in Development) the dev outbox.
        // The pages call OtpEngine themselves; CompleteWith registers the completion they hand a verified form to.
        builder.Services.AddOtpSignup<SignupForm>(builder.Configuration, o => o.Messages.AppName = "OtpVerification Razor Pages Sample")
            .CompleteWith<UserTableCompletion>();
        builder.Services.AddSingleton<SignupFlow>();

        var app = builder.Build();

        using (var scope = app.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.EnsureCreated();
        }

        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error");
        }

        app.UseStatusCodePages();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapRazorPages();
        app.MapOtpDevOutbox("/dev/outbox");   // Development only: where the codes go without a sender

        app.Run();
    }
}
