// A minimal app built only from the published packages: signup with a one-time code, completed by
// the app's own handler (an in-memory user list) instead of ASP.NET Core Identity.
using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.BearerToken;
using OtpVerification;
using OtpVerification.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSingleton<UserList>();
builder.Services.AddAuthentication().AddBearerToken();
builder.Services.AddAuthorization();

var otp = builder.Services.AddOtpSignup<OtpSignupForm>(options =>
    {
        options.Messages.AppName = "Consumer test";
        options.Code.Length = 6;
    })
    .CompleteWith<MyCompletion>()
    .ConfigureSignIn(signIn => signIn.BearerScheme = BearerTokenDefaults.AuthenticationScheme);

// The other packages, as an app would wire them. Twilio is registered (its settings are validated
// at start-up; the signup below goes by email, so no request is made); Redis and SMTP only when
// configured, so that the test's codes stay in the development outbox.
otp.AddTwilioSmsSender(o =>
{
    o.AccountSid = "AC0123456789abcdef0123456789abcdef";
    o.AuthToken = "consumer-test-token";
    o.From = "+14155550100";
});
if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
{
    otp.AddRedisStore(redis);
}

if (builder.Configuration["Smtp:Host"] is { Length: > 0 })
{
    otp.AddMailKitSender(builder.Configuration.GetSection("Smtp"));
}

var app = builder.Build();

app.UseAuthentication();
app.UseAuthorization();

app.MapOtpSignup<OtpSignupForm>();
app.MapOtpDevOutbox();

app.MapGet("/me", (ClaimsPrincipal user) => new { email = user.FindFirstValue(ClaimTypes.Email) })
    .RequireAuthorization();

app.Run();

/// <summary>The app's users, in memory.</summary>
internal sealed class UserList
{
    private readonly ConcurrentDictionary<string, string> _idsByEmail = new(StringComparer.Ordinal);

    public bool Contains(string email) => _idsByEmail.ContainsKey(email);

    public bool TryAdd(string email, out string id)
    {
        id = Guid.NewGuid().ToString("N");
        return _idsByEmail.TryAdd(email, id);
    }
}

/// <summary>Creates the user once the code is verified.</summary>
internal sealed class MyCompletion(UserList users) : IOtpSignupCompletion<OtpSignupForm>
{
    public ValueTask<bool> AccountExistsAsync(string email, CancellationToken cancellationToken)
        => ValueTask.FromResult(users.Contains(email));

    public ValueTask<IReadOnlyDictionary<string, string[]>> ValidateAsync(OtpSignupForm form, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, string[]> errors = form.Password is { Length: >= 8 }
            ? new Dictionary<string, string[]>()
            : new Dictionary<string, string[]> { ["password"] = ["Use at least 8 characters."] };
        return ValueTask.FromResult(errors);
    }

    public ValueTask<OtpCompletionResult> CompleteAsync(OtpSignupForm form, OtpDestination verified, CancellationToken cancellationToken)
    {
        // A real app hashes form.Password and stores the user here.
        if (!users.TryAdd(form.Email!, out var id))
        {
            return ValueTask.FromResult(OtpCompletionResult.Taken());
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, id), new Claim(ClaimTypes.Email, form.Email!)],
            BearerTokenDefaults.AuthenticationScheme));
        return ValueTask.FromResult(OtpCompletionResult.Created(id, principal));
    }
}
