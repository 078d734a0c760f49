using System.Net.Http.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using OtpVerification;
using OtpVerification.AspNetCore;
using OtpVerification.LoadHost;
using OtpVerification.Senders;

// The HTTP load benchmark's server (benchmarks/http-load.sh). One host serves every scenario:
//   POST /baseline            a bare minimal API that binds the signup form and answers 202 (always mapped)
//   POST /signup/start|verify OtpVerification, pending store chosen by --mode memory|redis
//   POST /identity/register   ASP.NET Core Identity's MapIdentityApi on EF Core SQLite (always mapped)
//   POST /baseline-keep       the bare endpoint plus 281 bytes kept per request for the run (the in-memory floor)
//   POST /baseline-redis1|2   the bare endpoint plus one Redis script, or two sent together (redis mode)
//   POST /loadhost/seed       creates a pool of pending registrations through /signup/start
//   GET  /loadhost/flows      the flowIds of that pool, one line each, in pool order
//   GET  /loadhost/users      the number of user rows in the SQLite user database
//   GET  /loadhost/requests   requests received so far, /loadhost/* excluded (for CPU per request)
//   GET  /loadhost/allocated  bytes the process has allocated so far (for allocations per request)
// Settings (appsettings.json next to the dll) keep the abuse defences from throttling one client
// (wrk runs from one IP address) and let each pending registration take 100 wrong guesses.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var mode = (builder.Configuration["mode"] ?? "memory").ToLowerInvariant();
if (mode is not ("memory" or "inmemory" or "redis" or "identity"))
{
    throw new InvalidOperationException($"--mode must be memory, redis or identity (was '{mode}').");
}

builder.Services.AddDbContext<LoadDbContext>(o => o.UseSqlite(builder.Configuration.GetConnectionString("Users")));
builder.Services.AddAuthorization();
builder.Services.AddIdentityApiEndpoints<IdentityUser>(o => o.User.RequireUniqueEmail = true)
    .AddEntityFrameworkStores<LoadDbContext>();

var otp = builder.Services.AddOtpSignup<LoadSignupForm>(builder.Configuration)
    .AddIdentityUsers<IdentityUser>();
if (string.Equals(builder.Configuration["Completion"], "NoUserLookup", StringComparison.OrdinalIgnoreCase))
{
    otp.CompleteWith<NoUserLookupCompletion>();
}
else if (string.Equals(builder.Configuration["Completion"], "AppUsers", StringComparison.OrdinalIgnoreCase))
{
    builder.Services.AddSingleton<AppUserList>();
    otp.CompleteWith<AppUsersCompletion>();
}

// wrk sends every request from 127.0.0.1: the load script names the client in X-Load-Client
// instead (a new client per start, as many users each under the limit; one client for the
// rate-limited scenario). Without it, one client would collect every send of the run in its
// hourly record, a case the limit never lets a real client reach.
builder.Services.Configure<OtpEndpointOptions>(o => o.ClientKey = context =>
    context.Request.Headers["X-Load-Client"] is [{ Length: > 0 } client] ? client : OtpEndpointOptions.DefaultClientKey(context));

if (mode == "redis")
{
    otp.AddRedisStore(builder.Configuration.GetConnectionString("Redis"));
}

// Registered after the development outbox, so these take over both channels.
builder.Services.AddSingleton<IOtpSender>(new NoOpOtpSender(OtpChannel.Email));
builder.Services.AddSingleton<IOtpSender>(new NoOpOtpSender(OtpChannel.Sms));
builder.Services.AddHttpClient();

var app = builder.Build();

using (var scope = app.Services.CreateScope())
{
    scope.ServiceProvider.GetRequiredService<LoadDbContext>().Database.EnsureCreated();
}

// Counts every request but the benchmark's own /loadhost/* calls: the script divides the server's
// CPU time by this count, read when the server is idle, so requests still in flight when wrk
// stops are neither lost nor half-counted.
var received = new RequestCount();
app.Use((context, next) =>
{
    if (!context.Request.Path.StartsWithSegments("/loadhost"))
    {
        received.Increment();
    }

    return next(context);
});

app.UseAuthentication();
app.UseAuthorization();

app.MapPost("/baseline", (LoadSignupForm form) => TypedResults.Accepted((string?)null, new OtpSendResponse(600, 60)));

// The in-memory floor: the bare endpoint plus keeping, for the rest of the run, the least a pending
// signup must keep: 281 bytes (the size of the typical protected form) under the form's email, in a
// ConcurrentDictionary. An in-memory start keeps more (the code's hash, the flow, the limits, the
// client's record), so no in-memory start can run faster than this on the same machine.
var kept = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
app.MapPost("/baseline-keep", (LoadSignupForm form) =>
{
    var payload = new byte[281];
    var name = form.Name ?? string.Empty;
    System.Text.Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, 64)), payload);
    kept[form.Email ?? string.Empty] = payload;
    return TypedResults.Accepted((string?)null, new OtpSendResponse(600, 60));
});
app.MapOtpSignup<LoadSignupForm>("/signup");
app.MapGroup("/identity").MapIdentityApi<IdentityUser>();

// Diagnostic floors for the Redis scenarios (mapped in redis mode): the bare endpoint plus one
// EVALSHA of a script that creates one key (as a start creates its keys), or two such scripts sent
// together (a start with a client check: two hash slots), on a multiplexer of the host's own.
if (mode == "redis")
{
    // Connected on the first floor request only, so the other scenarios run beside no second multiplexer.
    var redisConfiguration = builder.Configuration.GetConnectionString("Redis")!;
    var floor = new Lazy<Task<StackExchange.Redis.ConnectionMultiplexer>>(() => StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redisConfiguration));
    const string OneKey = "#!lua\nredis.call('SET', KEYS[1], ARGV[1], 'PX', 600000)\nreturn 1";
    app.MapPost("/baseline-redis1", async (LoadSignupForm form) =>
    {
        await (await floor.Value).GetDatabase().ScriptEvaluateAsync(OneKey, [(StackExchange.Redis.RedisKey)("floor:" + form.Email)], [form.Name]);
        return TypedResults.Accepted((string?)null, new OtpSendResponse(600, 60));
    });
    app.MapPost("/baseline-redis2", async (LoadSignupForm form) =>
    {
        var db = (await floor.Value).GetDatabase();
        var a = db.ScriptEvaluateAsync(OneKey, [(StackExchange.Redis.RedisKey)("floor:a:" + form.Email)], [form.Name]);
        var b = db.ScriptEvaluateAsync(OneKey, [(StackExchange.Redis.RedisKey)("floor:b:" + form.Email)], [form.Name]);
        await a;
        await b;
        return TypedResults.Accepted((string?)null, new OtpSendResponse(600, 60));
    });
}

app.MapGet("/loadhost/requests", () => TypedResults.Ok(new RequestTotal(received.Value)));
app.MapGet("/loadhost/allocated", () => Results.Text(GC.GetTotalAllocatedBytes(precise: true).ToString(System.Globalization.CultureInfo.InvariantCulture)));
app.MapGet("/loadhost/users", async (LoadDbContext db) => TypedResults.Ok(new UserCount(await db.Users.CountAsync())));

// Seeds the verify pool through the real start endpoint: {prefix}-{i}@load.test for i in [0, count).
// Verify needs each registration's flowId: they are kept, and GET /loadhost/flows lists them.
var seededFlows = new System.Collections.Concurrent.ConcurrentDictionary<string, string?[]>(StringComparer.Ordinal);
app.MapPost("/loadhost/seed", async (HttpContext context, IHttpClientFactory clients, string prefix, int count) =>
{
    var client = clients.CreateClient();
    client.BaseAddress = new Uri($"{context.Request.Scheme}://{context.Request.Host}");
    var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
    var flows = new string?[count];
    await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
    {
        var form = new LoadSignupForm { Name = "Load Test", Email = $"{prefix}-{i}@load.test", Password = "S3cure-Passw0rd!" };
        using var response = await client.PostAsJsonAsync("/signup/start", form, ct);
        statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
        if (response.IsSuccessStatusCode)
        {
            flows[i] = (await response.Content.ReadFromJsonAsync<OtpSendResponse>(ct))?.FlowId;
        }
    });
    seededFlows[prefix] = flows;
    return TypedResults.Ok(statuses.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value));
});

// The flowIds of a seeded pool, one line per registration in pool order (for load.lua's verify).
app.MapGet("/loadhost/flows", (string prefix) => seededFlows.TryGetValue(prefix, out var flows)
    ? Results.Text(string.Join('\n', flows.Select(f => f ?? "-")) + "\n")
    : Results.NotFound());

app.Run();

/// <summary>The answer of <c>GET /loadhost/requests</c>.</summary>
/// <param name="Requests">Requests received, /loadhost/* excluded.</param>
internal sealed record RequestTotal(long Requests);

/// <summary>The answer of <c>GET /loadhost/users</c>.</summary>
/// <param name="Users">User rows in the database.</param>
internal sealed record UserCount(int Users);
