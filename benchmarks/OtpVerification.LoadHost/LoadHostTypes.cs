using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using OtpVerification.AspNetCore;
using OtpVerification.Senders;

namespace OtpVerification.LoadHost;

/// <summary>The signup form of every scenario: the library's fields plus a name, as in the sample.</summary>
public sealed class LoadSignupForm : OtpSignupForm
{
    /// <summary>The user's name.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "The name is required.")]
    [StringLength(100, ErrorMessage = "The name must be at most 100 characters.")]
    public string? Name { get; set; }
}

/// <summary>The user database of the load host (EF Core SQLite, a fresh file per run).</summary>
/// <param name="options">The EF Core options.</param>
public sealed class LoadDbContext(DbContextOptions<LoadDbContext> options) : IdentityDbContext<IdentityUser>(options);

/// <summary>A sender that does nothing and logs nothing, so the library's own cost is measured, not delivery.</summary>
/// <param name="channel">The channel it stands in for.</param>
internal sealed class NoOpOtpSender(OtpChannel channel) : IOtpSender
{
    public OtpChannel Channel { get; } = channel;

    public ValueTask SendAsync(OtpMessage message, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

/// <summary>A thread-safe request counter.</summary>
internal sealed class RequestCount
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);
}

/// <summary>
/// Diagnostic completion (<c>--Completion=NoUserLookup</c>): Identity's password policy at start,
/// as the default completion, but no user-database lookup for an existing account, to tell the
/// library's own cost from the app's user database. Completion itself is Identity's.
/// </summary>
/// <param name="users">Identity's user manager.</param>
internal sealed class NoUserLookupCompletion(UserManager<IdentityUser> users) : IOtpSignupCompletion<LoadSignupForm>
{
    public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    public async ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(LoadSignupForm form, CancellationToken cancellationToken)
    {
        var user = new IdentityUser { UserName = form.Email, Email = form.Email };
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var validator in users.PasswordValidators)
        {
            var result = await validator.ValidateAsync(users, user, form.Password!).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                errors["password"] = [.. errors.GetValueOrDefault("password", []), .. result.Errors.Select(e => e.Description)];
            }
        }

        return errors;
    }

    public async ValueTask<OtpCompletionResult> CompleteAsync(LoadSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
    {
        var user = new IdentityUser { UserName = form.Email, Email = form.Email, EmailConfirmed = verified.Channel == OtpChannel.Email };
        var result = await users.CreateAsync(user, form.Password!).ConfigureAwait(false);
        return result.Succeeded ? OtpCompletionResult.Created(user.Id, null) : OtpCompletionResult.Taken();
    }
}

/// <summary>
/// Diagnostic completion (<c>--Completion=AppUsers</c>): the app's own users in a process-wide
/// dictionary, as an app without Identity would have them (see <c>CompleteWith</c> in the README),
/// and a length-only password policy. Nothing of Identity or EF Core is resolved per request, so a
/// start measures the library's own cost against the bare baseline.
/// </summary>
/// <param name="users">The users.</param>
internal sealed class AppUsersCompletion(AppUserList users) : IOtpSignupCompletion<LoadSignupForm>
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken) => ValueTask.FromResult(users.Ids.ContainsKey(email));

    public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(LoadSignupForm form, CancellationToken cancellationToken)
        => ValueTask.FromResult(form.Password is { Length: >= 8 } ? NoErrors : new Dictionary<string, string[]> { ["password"] = ["Use at least 8 characters."] });

    public ValueTask<OtpCompletionResult> CompleteAsync(LoadSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        return ValueTask.FromResult(users.Ids.TryAdd(form.Email!, id) ? OtpCompletionResult.Created(id, null) : OtpCompletionResult.Taken());
    }
}

/// <summary>The users of <see cref="AppUsersCompletion"/>.</summary>
internal sealed class AppUserList
{
    /// <summary>User ids by email.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Ids { get; } = new(StringComparer.Ordinal);
}
