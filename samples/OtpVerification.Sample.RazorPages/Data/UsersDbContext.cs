using Microsoft.EntityFrameworkCore;

namespace OtpVerification.Sample.RazorPages.Data;

/// <summary>The app's own user table (no ASP.NET Core Identity): a row is written only once a code was verified.</summary>
/// <param name="options">The options.</param>
public sealed class UsersDbContext(DbContextOptions<UsersDbContext> options) : DbContext(options)
{
    /// <summary>The users.</summary>
    public DbSet<User> Users => Set<User>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<User>().HasIndex(u => u.Email).IsUnique();
    }
}

/// <summary>A user of the sample.</summary>
public sealed class User
{
    /// <summary>The id.</summary>
    public Guid Id { get; set; }

    /// <summary>The normalised (lower-case) email; unique.</summary>
    public required string Email { get; set; }

    /// <summary>Whether the email was proven by a code sent to it.</summary>
    public bool EmailVerified { get; set; }

    /// <summary>The display name.</summary>
    public required string Name { get; set; }

    /// <summary>The password hash (PBKDF2, <c>PasswordHasher</c>); the password itself is never stored.</summary>
    public required string PasswordHash { get; set; }

    /// <summary>When the account was created.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
