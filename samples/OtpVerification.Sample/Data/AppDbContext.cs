using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using OtpVerification.AspNetCore;

namespace OtpVerification.Sample.Data;

/// <summary>The sample's user: Identity's user plus a display name.</summary>
public sealed class AppUser : IdentityUser
{
    /// <summary>The name given at signup.</summary>
    [MaxLength(100)]
    public string? DisplayName { get; set; }
}

/// <summary>The sample's user database (SQLite, created on first run).</summary>
/// <param name="options">The EF Core options.</param>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : IdentityDbContext<AppUser>(options)
{
    /// <summary>The one-row decoy <c>POST /login</c> writes for a wrong login that has no account to count it on.</summary>
    public DbSet<LoginDecoy> LoginDecoys => Set<LoginDecoy>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<LoginDecoy>().ToTable("LoginDecoy");
    }
}

/// <summary>The row of <see cref="AppDbContext.LoginDecoys"/>.</summary>
public sealed class LoginDecoy
{
    /// <summary>Always 1.</summary>
    public int Id { get; set; }

    /// <summary>Changed by every wrong login that has no account to count it on.</summary>
    public string? Stamp { get; set; }
}

/// <summary>The signup form: the library's fields plus the user's name.</summary>
public sealed class SignupForm : OtpSignupForm
{
    /// <summary>The user's name.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "The name is required.")]
    [StringLength(100, ErrorMessage = "The name must be at most 100 characters.")]
    public string? Name { get; set; }
}

/// <summary>The body of <c>POST /login</c>.</summary>
/// <param name="Email">The email.</param>
/// <param name="Password">The password.</param>
public sealed record LoginRequest(string? Email, string? Password);
