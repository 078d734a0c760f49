using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace OtpVerification.AspNetCore.Tests.Hosting;

/// <summary>Test data: unique addresses and passwords that pass or fail the sample's Identity policy.</summary>
public static class TestData
{
    /// <summary>A password the default Identity policy accepts.</summary>
    public const string Password = "S3cure-Passw0rd!";

    /// <summary>Another password the default Identity policy accepts.</summary>
    public const string NewPassword = "N3w-Passw0rd!";

    /// <summary>A password the default Identity policy refuses (no digit, upper case or symbol).</summary>
    public const string WeakPassword = "password";

    /// <summary>A fresh, lower-case email address.</summary>
    /// <param name="tag">A readable prefix.</param>
    /// <returns>The address.</returns>
    public static string Email(string tag) => $"{tag}-{Guid.NewGuid():N}@example.com";

    /// <summary>A code of the default length that differs from <paramref name="code"/>.</summary>
    /// <param name="code">The right code.</param>
    /// <param name="offset">Which wrong code (1, 2, …).</param>
    /// <returns>A wrong code.</returns>
    public static string WrongCode(string code, int offset = 1)
    {
        var value = (long.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + offset) % (long)Math.Pow(10, code.Length);
        return value.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(code.Length, '0');
    }
}

/// <summary>Calls the sample's endpoints the way a client does.</summary>
public static class Api
{
    /// <summary>
    /// The flow id of the latest accepted start per endpoint and address, as a client keeps it
    /// between start and verify. Helpers that verify use it unless a test passes its own.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Flows = new(StringComparer.Ordinal);

    /// <summary>The flow id the latest accepted start answered for <paramref name="email"/> on <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The endpoint group, e.g. <c>/signup</c>.</param>
    /// <param name="email">The address as the test sent it.</param>
    /// <returns>The flow id, or a value no server ever issued when no start was accepted.</returns>
    public static string FlowOf(string prefix, string email)
        => Flows.TryGetValue(FlowKey(prefix, email), out var flow) ? flow : "no-start-was-accepted";

    /// <summary>Remembers the flow id of an accepted start (the body stays readable).</summary>
    /// <param name="response">The start's response.</param>
    /// <param name="prefix">The endpoint group.</param>
    /// <param name="email">The address.</param>
    /// <returns>The response.</returns>
    public static async Task<HttpResponseMessage> RememberFlowAsync(this HttpResponseMessage response, string prefix, string? email)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.StatusCode == HttpStatusCode.Accepted && email is not null)
        {
            await response.Content.LoadIntoBufferAsync();
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (document.RootElement.TryGetProperty("flowId", out var flow) && flow.GetString() is { Length: > 0 } id)
            {
                Flows[FlowKey(prefix, email)] = id;
            }
        }

        return response;
    }

    private static string FlowKey(string prefix, string email) => prefix + "|" + email.Trim().ToLowerInvariant();

    /// <summary>POSTs <paramref name="body"/> as JSON (camelCase).</summary>
    /// <param name="client">The client.</param>
    /// <param name="path">The path.</param>
    /// <param name="body">The body.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body)
        => client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);

    /// <summary>POST /signup/start with the given fields (null fields are left out).</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <param name="password">The password.</param>
    /// <param name="name">The name.</param>
    /// <param name="phone">The phone.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="deviceId">The device id.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> StartSignupAsync(this HttpClient client, string? email, string? password = TestData.Password, string? name = "Ana", string? phone = null, string? channel = null, string? deviceId = null)
    {
        var body = new Dictionary<string, object?>();
        Add(body, "email", email);
        Add(body, "password", password);
        Add(body, "name", name);
        Add(body, "phone", phone);
        Add(body, "channel", channel);
        Add(body, "deviceId", deviceId);
        return client.PostJsonAsync("/signup/start", body).ContinueWith(t => t.Result.RememberFlowAsync("/signup", email), TaskScheduler.Default).Unwrap();
    }

    /// <summary>POST /signup/resend.</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> ResendSignupAsync(this HttpClient client, string email)
        => client.PostJsonAsync("/signup/resend", new { email });

    /// <summary>POST /signup/verify.</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <param name="code">The code.</param>
    /// <param name="deviceId">The device id, left out when null.</param>
    /// <param name="useCookies">Adds <c>?useCookies=true</c>.</param>
    /// <param name="flowId">The flow id; by default the one the latest accepted start for <paramref name="email"/> answered.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> VerifySignupAsync(this HttpClient client, string email, string code, string? deviceId = null, bool useCookies = false, string? flowId = null)
    {
        var body = new Dictionary<string, object?> { ["email"] = email, ["code"] = code, ["flowId"] = flowId ?? FlowOf("/signup", email) };
        Add(body, "deviceId", deviceId);
        return client.PostJsonAsync(useCookies ? "/signup/verify?useCookies=true" : "/signup/verify", body);
    }

    /// <summary>POST /password-reset/start.</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <returns>The response.</returns>
    public static async Task<HttpResponseMessage> StartPasswordResetAsync(this HttpClient client, string email)
        => await (await client.PostJsonAsync("/password-reset/start", new { email })).RememberFlowAsync("/password-reset", email);

    /// <summary>POST /password-reset/complete.</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <param name="code">The code.</param>
    /// <param name="newPassword">The new password.</param>
    /// <param name="flowId">The flow id; by default the one the latest accepted start for <paramref name="email"/> answered.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> CompletePasswordResetAsync(this HttpClient client, string email, string code, string newPassword, string? flowId = null)
        => client.PostJsonAsync("/password-reset/complete", new { email, code, flowId = flowId ?? FlowOf("/password-reset", email), newPassword });

    /// <summary>POST /login.</summary>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <param name="password">The password.</param>
    /// <param name="useCookies">The <c>useCookies</c> query value, if any.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> LoginAsync(this HttpClient client, string email, string password, string? useCookies = null)
        => client.PostJsonAsync(useCookies is null ? "/login" : "/login?useCookies=" + useCookies, new { email, password });

    /// <summary>GET /api/me, with a bearer token when one is given.</summary>
    /// <param name="client">The client.</param>
    /// <param name="accessToken">The bearer token, or null to rely on cookies (or nothing).</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> GetMeAsync(this HttpClient client, string? accessToken = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/me", UriKind.Relative));
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return client.SendAsync(request);
    }

    /// <summary>Signs up through start and verify and returns the verify answer's JSON.</summary>
    /// <param name="factory">The app.</param>
    /// <param name="client">The client.</param>
    /// <param name="email">The email.</param>
    /// <param name="password">The password.</param>
    /// <returns>The verify answer.</returns>
    public static async Task<JsonElement> SignUpAsync(this SampleAppFactory factory, HttpClient client, string email, string password = TestData.Password)
    {
        ArgumentNullException.ThrowIfNull(factory);
        await (await client.StartSignupAsync(email, password)).ShouldBeAcceptedAsync();
        var code = await factory.ReadCodeAsync(email);
        var verify = await client.VerifySignupAsync(email, code);
        return await verify.ShouldHaveJsonAsync(HttpStatusCode.OK);
    }

    private static void Add(Dictionary<string, object?> body, string key, string? value)
    {
        if (value is not null)
        {
            body[key] = value;
        }
    }
}

/// <summary>Assertions on the contract's response shapes.</summary>
public static class ResponseAssertions
{
    /// <summary>
    /// Asserts 202 with exactly <c>{ "expiresIn": 600, "resendAfter": 60 }</c> (the defaults), plus
    /// an opaque <c>flowId</c> of at least 128 bits for a start (a resend answers none).
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="expiresIn">The expected <c>expiresIn</c> (600 for a start when null).</param>
    /// <param name="resendAfter">The expected <c>resendAfter</c>.</param>
    /// <returns>A task.</returns>
    /// <remarks>A resend answers the lifetime its code has left (a same-code resend keeps the code's expiry): without an explicit <paramref name="expiresIn"/> it must be between 1 and 600.</remarks>
    public static async Task ShouldBeAcceptedAsync(this HttpResponseMessage response, long? expiresIn = null, long resendAfter = 60)
    {
        ArgumentNullException.ThrowIfNull(response);
        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.Accepted);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/json");
        var isStart = response.RequestMessage?.RequestUri?.AbsolutePath.EndsWith("/start", StringComparison.Ordinal) == true;
        if (isStart)
        {
            json.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("expiresIn", "resendAfter", "flowId");
            json.GetProperty("flowId").GetString().Should().MatchRegex("^[A-Za-z0-9_-]{22,}$", "a flow id is opaque, at least 128 random bits");
        }
        else
        {
            json.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("expiresIn", "resendAfter");
        }

        if (expiresIn is { } expected)
        {
            json.GetProperty("expiresIn").GetInt64().Should().Be(expected);
        }
        else if (isStart)
        {
            json.GetProperty("expiresIn").GetInt64().Should().Be(600);
        }
        else
        {
            json.GetProperty("expiresIn").GetInt64().Should().BeInRange(1, 600);
        }
        json.GetProperty("resendAfter").GetInt64().Should().Be(resendAfter);
    }

    /// <summary>Asserts the status and returns the JSON body.</summary>
    /// <param name="response">The response.</param>
    /// <param name="status">The expected status.</param>
    /// <returns>The body.</returns>
    public static async Task<JsonElement> ShouldHaveJsonAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, "the body was: {0}", text);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Asserts an RFC 9457 problem: the status, <c>application/problem+json</c>, a numeric
    /// <c>status</c> equal to the HTTP status, a <c>title</c>, and the <c>code</c>.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="status">The expected status.</param>
    /// <param name="code">The expected <c>code</c>.</param>
    /// <returns>The problem body.</returns>
    public static async Task<JsonElement> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await response.ShouldHaveJsonAsync(status);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        json.ValueKind.Should().Be(JsonValueKind.Object);
        json.TryGetProperty("status", out var statusValue).Should().BeTrue("a problem carries status");
        statusValue.GetInt32().Should().Be((int)status);
        json.TryGetProperty("title", out var title).Should().BeTrue("a problem carries title");
        title.GetString().Should().NotBeNullOrWhiteSpace();
        json.TryGetProperty("code", out var codeValue).Should().BeTrue("a problem carries a machine-readable code");
        codeValue.GetString().Should().Be(code);
        return json;
    }

    /// <summary>Asserts 400 <c>validation</c> whose <c>errors</c> name <paramref name="field"/> with at least one message.</summary>
    /// <param name="response">The response.</param>
    /// <param name="field">The camelCase field.</param>
    /// <returns>The problem body.</returns>
    public static async Task<JsonElement> ShouldBeValidationProblemAsync(this HttpResponseMessage response, string field)
    {
        var json = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
        json.TryGetProperty("errors", out var errors).Should().BeTrue("a validation problem carries errors");
        errors.ValueKind.Should().Be(JsonValueKind.Object);
        errors.TryGetProperty(field, out var messages).Should().BeTrue("errors should name '{0}', but were {1}", field, errors.GetRawText());
        messages.ValueKind.Should().Be(JsonValueKind.Array);
        messages.EnumerateArray().Should().NotBeEmpty().And.OnlyContain(m => m.ValueKind == JsonValueKind.String && m.GetString()!.Length > 0);
        return json;
    }

    /// <summary>Asserts 400 <c>invalid_code</c> and returns <c>attemptsRemaining</c>, or null when absent.</summary>
    /// <param name="response">The response.</param>
    /// <returns><c>attemptsRemaining</c>.</returns>
    public static async Task<int?> ShouldBeInvalidCodeAsync(this HttpResponseMessage response)
    {
        var json = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "invalid_code");
        return json.TryGetProperty("attemptsRemaining", out var left) ? left.GetInt32() : null;
    }

    /// <summary>Asserts 429 with <paramref name="code"/>, and that <c>Retry-After</c> (whole seconds) equals <c>retryAfter</c>.</summary>
    /// <param name="response">The response.</param>
    /// <param name="code"><c>too_frequent</c> or <c>rate_limited</c>.</param>
    /// <returns>The number of seconds.</returns>
    public static async Task<long> ShouldBeTooManyRequestsAsync(this HttpResponseMessage response, string code)
    {
        ArgumentNullException.ThrowIfNull(response);
        var json = await response.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, code);
        response.Headers.TryGetValues("Retry-After", out var values).Should().BeTrue("a 429 carries Retry-After");
        var header = values!.Single();
        header.Should().MatchRegex("^[0-9]+$", "Retry-After is whole seconds");
        var retryAfter = json.GetProperty("retryAfter").GetInt64();
        retryAfter.Should().Be(long.Parse(header, System.Globalization.CultureInfo.InvariantCulture));
        retryAfter.Should().BePositive();
        return retryAfter;
    }
}
