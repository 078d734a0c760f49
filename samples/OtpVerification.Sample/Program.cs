using System.Security.Claims;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using OtpVerification;
using OtpVerification.Sample.Data;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

// The user database: SQLite, created on first run.
builder.Services.AddDbContext<AppDbContext>(o => o.UseSqlite(builder.Configuration.GetConnectionString("Users") ?? "Data Source=users.db"));
builder.Services.AddAuthorization();

// Every error carries a machine-readable code (CONTRACT.md), the framework's own 401/404/… included.
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions.TryAdd("code", c.ProblemDetails.Status switch
{
    StatusCodes.Status401Unauthorized => "unauthorized",
    StatusCodes.Status403Forbidden => "forbidden",
    StatusCodes.Status404NotFound => "not_found",
    StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
    StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
    >= 500 => "server_error",
    _ => "error",
}));
// Accounts are unique by user name: the email when an emailed code proved it, the phone when a
// texted code did (then the account has no email: an unproven address is never stored).
builder.Services.AddIdentityApiEndpoints<AppUser>(o => o.User.RequireUniqueEmail = false)
    .AddEntityFrameworkStores<AppDbContext>();

// Instances that share a pending store must share the Data Protection key ring (the pending form
// is encrypted with it) and OtpSignup:Code:HashKey (the HMAC key of stored codes).
if (builder.Configuration["DataProtection:KeysPath"] is { Length: > 0 } keysPath)
{
    builder.Services.AddDataProtection()
        .PersistKeysToFileSystem(new DirectoryInfo(keysPath))
        .SetApplicationName("OtpVerification.Sample");
}

// OtpVerification: pending registrations outside the user database until the code is verified.
var otp = builder.Services.AddOtpSignup<SignupForm>(builder.Configuration)
    .AddIdentityUsers<AppUser>((user, form) => user.DisplayName = form.Name?.Trim())
    // The sample's own texts: the Spanish of its form's messages (SampleTexts.es.resx). The
    // endpoints answer in English or Spanish by Accept-Language (OtpSignup:Messages:SupportedCultures).
    .AddTexts(typeof(OtpVerification.Sample.SampleTexts));

// OtpSignup:Store=Redis keeps pending registrations in Redis (ConnectionStrings:Redis: a server,
// Cluster nodes or Sentinel; unset, an IConnectionMultiplexer the app registers), shared by every
// instance; the default is this process's memory. A shared store needs OtpSignup:Code:HashKey
// (the app refuses to start without it) and warns at start-up without DataProtection:KeysPath.
if (string.Equals(builder.Configuration["OtpVerification:Store"] ?? builder.Configuration["OtpSignup:Store"], "Redis", StringComparison.OrdinalIgnoreCase))
{
    otp.AddRedisStore(builder.Configuration.GetConnectionString("Redis"));
}

// Codes go by SMTP (MailKit, TLS unless Smtp:Security=None) when Smtp:Host is set, otherwise to the development outbox.
if (!string.IsNullOrEmpty(builder.Configuration["Smtp:Host"]))
{
    otp.AddMailKitSender(builder.Configuration.GetSection("Smtp"));
}

// SMS by Twilio when Sms:Twilio:AccountSid is set, otherwise to the development outbox.
if (!string.IsNullOrEmpty(builder.Configuration["Sms:Twilio:AccountSid"]))
{
    otp.AddTwilioSmsSender(builder.Configuration.GetSection("Sms:Twilio"));
}

// GET /healthz: 200 while the pending-registration store answers (Redis: PING), 503 when it does not.
builder.Services.AddHealthChecks().AddOtpStoreHealthCheck();

// GET /openapi/v1.json: every endpoint, its bodies and the problem codes it can answer; /scalar in Development.
builder.Services.AddOpenApi(o => o.AddOtpProblemCodes());

var app = builder.Build();

using (var scope = app.Services.CreateScope())
{
    var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
    db.Database.EnsureCreated();
    // The one-row counter /login writes for a wrong login that has no account to count it on (in
    // the model, so new databases have it; created here too for users.db files from before it).
    db.Database.ExecuteSql($"""CREATE TABLE IF NOT EXISTS "LoginDecoy" ("Id" INTEGER NOT NULL PRIMARY KEY, "Failures" INTEGER NOT NULL)""");
    db.Database.ExecuteSql($"""INSERT OR IGNORE INTO "LoginDecoy" ("Id", "Failures") VALUES (1, 0)""");
}

app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();

app.MapOtpSignup<SignupForm>("/signup");
app.MapOtpPasswordReset("/password-reset");
app.MapOtpPhoneVerification("/phone-verification");
app.MapOtpSignIn("/signin/code");
app.MapOtpDevOutbox("/dev/outbox");
app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    app.MapScalarApiReference();
}

// A route handler rather than MapHealthChecks, so that the OpenAPI document describes it too.
app.MapGet("/healthz", async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> (HealthCheckService health, HttpContext context) =>
{
    var report = await health.CheckHealthAsync(context.RequestAborted);
    var body = new HealthResponse(report.Status.ToString(), report.Entries.ToDictionary(e => e.Key, e => new HealthEntry(e.Value.Status.ToString(), e.Value.Description)));
    context.Response.Headers.CacheControl = "no-store";
    if (report.Status == HealthStatus.Unhealthy)
    {
        context.Response.Headers.RetryAfter = "5";
        return TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    return TypedResults.Ok(body);
}).Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable).WithTags("Health");

app.MapGet("/api/me", async Task<Results<Ok<MeResponse>, UnauthorizedHttpResult>> (ClaimsPrincipal principal, UserManager<AppUser> users) =>
    await users.GetUserAsync(principal) is { } user
        ? TypedResults.Ok(new MeResponse(user.Email, user.EmailConfirmed, user.PhoneNumber, user.PhoneNumberConfirmed, user.DisplayName))
        : TypedResults.Unauthorized())
    .RequireAuthorization()
    .WithProblemCodes(StatusCodes.Status401Unauthorized, "unauthorized");

app.MapPost("/login", async Task<Results<EmptyHttpResult, ProblemHttpResult>> (HttpContext context, string? useCookies, SignInManager<AppUser> signIn, UserManager<AppUser> users, AppDbContext db) =>
{
    // Every answer, a refusal too: an answer that carries tokens is never cached (RFC 6749 §5.1),
    // and a wrong login must not tell by its headers which emails have accounts.
    context.Response.Headers.CacheControl = "no-store";
    context.Response.Headers.Pragma = "no-cache";

    // Parsed here, not bound as bool?: a bad value must be a 400 validation, not a framework binding failure.
    var cookies = false;
    if (!string.IsNullOrEmpty(useCookies) && !bool.TryParse(useCookies, out cookies))
    {
        return TypedResults.Problem(statusCode: 400, title: "useCookies must be true or false.", extensions: new Dictionary<string, object?> { ["code"] = "validation", ["errors"] = new Dictionary<string, string[]> { ["useCookies"] = ["useCookies must be true or false."] } });
    }

    LoginRequest? login = null;
    if (context.Request.HasJsonContentType())
    {
        // Read by hand, so the contract's 64 KiB cap holds for chunked bodies too.
        if (await ReadBodyAsync(context.Request) is not { } body)
        {
            return TypedResults.Problem(statusCode: 413, title: "The request body is larger than 64 KiB.", extensions: new Dictionary<string, object?> { ["code"] = "payload_too_large" });
        }

        try
        {
            login = System.Text.Json.JsonSerializer.Deserialize<LoginRequest>(body, System.Text.Json.JsonSerializerOptions.Web);
        }
        catch (System.Text.Json.JsonException)
        {
        }
    }

    if (login is null || !OtpAddress.TryNormalizeEmail(login.Email, out var email) || string.IsNullOrEmpty(login.Password))
    {
        return TypedResults.Problem(statusCode: 400, title: "Email and password are required.", extensions: new Dictionary<string, object?> { ["code"] = "validation", ["errors"] = new Dictionary<string, string[]> { ["body"] = ["Send { \"email\", \"password\" } as JSON."] } });
    }

    // Every wrong answer costs the same, whether the account exists, is locked out or is missing:
    // one lookup, one password hash check and one committed update. For a real account that update
    // is its failed-attempt count (lockout); the others count on a one-row decoy, or the answer's
    // time tells which emails have accounts (a commit waits for the disk: a millisecond or more,
    // against a 50 ms answer).
    var user = await users.FindByNameAsync(email);
    if (user is null || await users.IsLockedOutAsync(user) || !await signIn.CanSignInAsync(user))
    {
        // Identity answers a locked-out account without checking the password: five wrong
        // passwords, and the sixth answer would come back 50 ms sooner than for unknown emails.
        users.PasswordHasher.VerifyHashedPassword(new AppUser(), UnknownUserHash.Hash.Value, login.Password);
        await db.LoginDecoys.Where(d => d.Id == 1).ExecuteUpdateAsync(s => s.SetProperty(d => d.Failures, d => d.Failures + 1), CancellationToken.None);
        return TypedResults.Problem(statusCode: 401, title: "The email or password is wrong.", extensions: new Dictionary<string, object?> { ["code"] = "invalid_credentials" });
    }

    signIn.AuthenticationScheme = cookies ? IdentityConstants.ApplicationScheme : IdentityConstants.BearerScheme;
    // Identity's own failure count (lockoutOnFailure: true) loads the user, then updates it under
    // its concurrency stamp: wrong passwords sent in parallel lose that race and go uncounted, so
    // an attacker would get more guesses than the lockout allows. Counted here instead, in one
    // atomic update, as Identity's AccessFailedAsync would count it.
    var result = await signIn.CheckPasswordSignInAsync(user, login.Password, lockoutOnFailure: false);
    if (result.Succeeded)
    {
        await signIn.SignInAsync(user, isPersistent: false);
        return TypedResults.Empty; // the bearer handler has written { tokenType, accessToken, expiresIn, refreshToken }, or the cookie is set
    }

    if (result is { IsLockedOut: false, IsNotAllowed: false, RequiresTwoFactor: false })
    {
        // The password was wrong.
        var max = users.Options.Lockout.MaxFailedAccessAttempts;
        var until = DateTimeOffset.UtcNow.Add(users.Options.Lockout.DefaultLockoutTimeSpan); // Identity's clock
        var stamp = Guid.NewGuid().ToString();
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(
            s => s.SetProperty(u => u.LockoutEnd, u => u.AccessFailedCount + 1 >= max ? until : u.LockoutEnd)
                .SetProperty(u => u.AccessFailedCount, u => u.AccessFailedCount + 1 >= max ? 0 : u.AccessFailedCount + 1)
                .SetProperty(u => u.ConcurrencyStamp, stamp),
            CancellationToken.None);
    }

    return TypedResults.Problem(statusCode: 401, title: "The email or password is wrong.", extensions: new Dictionary<string, object?> { ["code"] = "invalid_credentials" });
})
    .Accepts<LoginRequest>("application/json")
    .Produces<Microsoft.AspNetCore.Authentication.BearerToken.AccessTokenResponse>()
    .WithProblemCodes(StatusCodes.Status400BadRequest, "validation")
    .WithProblemCodes(StatusCodes.Status401Unauthorized, "invalid_credentials")
    .WithProblemCodes(StatusCodes.Status413PayloadTooLarge, "payload_too_large");

app.Run();

// The body, or null when it is over 64 KiB (CONTRACT.md: every endpoint answers 413).
static async Task<byte[]?> ReadBodyAsync(HttpRequest request)
{
    const int maxBytes = 64 * 1024;
    if (request.ContentLength > maxBytes)
    {
        return null;
    }

    using var body = new MemoryStream();
    var chunk = new byte[8192];
    int read;
    while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
    {
        body.Write(chunk, 0, read);
        if (body.Length > maxBytes)
        {
            return null;
        }
    }

    return body.ToArray();
}

/// <summary>The answer of <c>GET /api/me</c>.</summary>
/// <param name="Email">The signed-in user's email; null for an account a texted code created (its email was never proven).</param>
/// <param name="EmailVerified">Whether the email was verified (a code sent to it was entered).</param>
/// <param name="Phone">The phone number, if the form had one.</param>
/// <param name="PhoneVerified">Whether the phone was verified (a code texted to it was entered).</param>
/// <param name="Name">The display name.</param>
internal sealed record MeResponse(string? Email, bool EmailVerified, string? Phone, bool PhoneVerified, string? Name);

/// <summary>A password hash of the same cost as real ones, checked for addresses that have no account.</summary>
internal static class UnknownUserHash
{
    public static readonly Lazy<string> Hash = new(() => new PasswordHasher<AppUser>().HashPassword(new AppUser(), Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24))));
}

/// <summary>The answer of <c>GET /healthz</c>.</summary>
/// <param name="Status"><c>Healthy</c>, <c>Degraded</c> (still 200) or <c>Unhealthy</c> (503).</param>
/// <param name="Checks">Each check by name.</param>
internal sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthEntry> Checks);

/// <summary>One health check's result.</summary>
/// <param name="Status">Its status.</param>
/// <param name="Description">What it found.</param>
internal sealed record HealthEntry(string Status, string? Description);

/// <summary>The sample's entry point (public for WebApplicationFactory).</summary>
public partial class Program;
