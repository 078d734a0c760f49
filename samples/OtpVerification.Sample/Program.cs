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
    // The one-row decoy /login writes for a wrong login that has no account to count it on (in
    // the model, so new databases have it; created here too for users.db files from before it).
    db.Database.ExecuteSql($"""CREATE TABLE IF NOT EXISTS "LoginDecoy" ("Id" INTEGER NOT NULL PRIMARY KEY, "Stamp" TEXT NULL)""");
    db.Database.ExecuteSql($"""INSERT OR IGNORE INTO "LoginDecoy" ("Id", "Stamp") VALUES (1, NULL)""");
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

    // The one answer of every refused login: no account, locked out, a wrong password, too many queued.
    static ProblemHttpResult WrongLogin() => TypedResults.Problem(statusCode: 401, title: "The email or password is wrong.", extensions: new Dictionary<string, object?> { ["code"] = "invalid_credentials" });

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

    // One login at a time per email on this instance, whether or not it has an account. Identity
    // checks the lockout before the password and counts a failure after it, under the user's
    // concurrency stamp: guesses sent at once would all pass the check (a burst of twenty, twenty
    // guesses), and parallel failures, or a reset beside a failure, would lose the stamp's race
    // (uncounted failures; the owner's right password refused). In turn, each guess sees the count
    // the one before it left. Past MaxLoginsQueuedPerEmail a login is refused unchecked.
    using var turn = await LoginTurns.TryEnterAsync(email, context.RequestAborted);
    if (turn is null)
    {
        return WrongLogin();
    }

    // Every wrong answer costs the same, whether the account exists, is locked out or is missing:
    // one lookup, one password hash check, a second lookup and one row updated and committed. For a
    // real account that is Identity's failed-attempt count (lockout); the others change a one-row
    // decoy the same way, or the answer's time tells which emails have accounts (a commit waits
    // for the disk: a millisecond or more, against a 50 ms answer).
    var user = await users.FindByNameAsync(email);
    if (user is null || await users.IsLockedOutAsync(user) || !await signIn.CanSignInAsync(user))
    {
        // Identity answers a locked-out account without checking the password: five wrong
        // passwords, and the sixth answer would come back 50 ms sooner than for unknown emails.
        users.PasswordHasher.VerifyHashedPassword(new AppUser(), UnknownUserHash.Hash.Value, login.Password);
        // Identity's failed-attempt update, step for step: the user name looked up again (its user
        // validator), then one row changed through SaveChanges and committed.
        await users.FindByNameAsync(UnknownUserHash.DecoyUserName);
        var decoy = new LoginDecoy { Id = 1 };
        db.LoginDecoys.Attach(decoy);
        decoy.Stamp = Guid.NewGuid().ToString();
        await db.SaveChangesAsync(CancellationToken.None);
        return WrongLogin();
    }

    // Identity's own password sign-in, as MapIdentityApi's /login: the lockout count (with its
    // logs and metrics), the reset on success, and no sign-in without the second factor when the
    // account has two-factor authentication on (RequiresTwoFactor: 401 here).
    signIn.AuthenticationScheme = cookies ? IdentityConstants.ApplicationScheme : IdentityConstants.BearerScheme;
    var result = await signIn.PasswordSignInAsync(user, login.Password, isPersistent: false, lockoutOnFailure: true);
    if (result.Succeeded)
    {
        return TypedResults.Empty; // the bearer handler has written { tokenType, accessToken, expiresIn, refreshToken }, or the cookie is set
    }

    return WrongLogin();
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

    /// <summary>A user name no account can have (it is not an email): the failed-attempt update of a login with no account to count it on.</summary>
    public const string DecoyUserName = "login-decoy.invalid";
}

/// <summary>
/// One <c>POST /login</c> at a time per email on this instance (see the handler). An email's gate
/// lives while logins for it are running or waiting, then is dropped.
/// </summary>
internal static class LoginTurns
{
    /// <summary>Logins of one email running or waiting, beyond which a login is refused at once.</summary>
    public const int MaxLoginsQueuedPerEmail = 64;

    private static readonly Dictionary<string, Gate> Gates = new(StringComparer.Ordinal);

    /// <summary>Waits for the email's turn.</summary>
    /// <param name="email">The normalized email.</param>
    /// <param name="cancellationToken">The request's abort.</param>
    /// <returns>The turn (dispose it to end it), or null when too many logins of this email are queued.</returns>
    public static async Task<IDisposable?> TryEnterAsync(string email, CancellationToken cancellationToken)
    {
        Gate gate;
        lock (Gates)
        {
            if (!Gates.TryGetValue(email, out gate!))
            {
                gate = new Gate();
                Gates.Add(email, gate);
            }
            else if (gate.Holders >= MaxLoginsQueuedPerEmail)
            {
                return null;
            }

            gate.Holders++;
        }

        try
        {
            await gate.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(email, gate);
            throw;
        }

        return new Turn(email, gate);
    }

    private static void Leave(string email, Gate gate)
    {
        lock (Gates)
        {
            if (--gate.Holders == 0)
            {
                Gates.Remove(email);
                gate.Semaphore.Dispose();
            }
        }
    }

    private sealed class Gate
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Holders { get; set; }
    }

    private sealed class Turn(string email, Gate gate) : IDisposable
    {
        private int _ended;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                gate.Semaphore.Release();
                Leave(email, gate);
            }
        }
    }
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
