using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Flows;

/// <summary>Client calls of the phone signup, phone-first verification and passwordless sign-in flows.</summary>
public static partial class FlowsApi
{
    /// <summary>A US number unique to the test, in E.164.</summary>
    /// <returns>The number.</returns>
    public static string UniquePhone()
        => "+1415" + Random.Shared.Next(2_000_000, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>POST a JSON body and return the response.</summary>
    /// <param name="client">The client.</param>
    /// <param name="path">The path.</param>
    /// <param name="body">The body (null members are left out).</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> PostBodyAsync(this HttpClient client, string path, Dictionary<string, string?> body)
        => client.PostJsonAsync(path, body.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value));

    /// <summary>The <c>flowId</c> of a 202 start.</summary>
    /// <param name="response">The start's answer.</param>
    /// <returns>The flow id.</returns>
    public static async Task<string> FlowIdAsync(this HttpResponseMessage response)
    {
        var json = await response.ShouldHaveJsonAsync(HttpStatusCode.Accepted);
        return json.GetProperty("flowId").GetString()!;
    }

    /// <summary>Verifies a phone through <c>/phone-verification</c> and returns the proof.</summary>
    /// <param name="app">The app.</param>
    /// <param name="client">The client.</param>
    /// <param name="phone">The phone.</param>
    /// <param name="deviceId">The device.</param>
    /// <returns>The <c>phoneProof</c>.</returns>
    public static async Task<string> ProvePhoneAsync(this SampleAppFactory app, HttpClient client, string phone, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(app);
        var flowId = await (await client.PostBodyAsync("/phone-verification/start", new() { ["phone"] = phone, ["deviceId"] = deviceId })).FlowIdAsync();
        var code = await app.ReadCodeAsync(phone, "phone_verification");
        var verify = await client.PostBodyAsync("/phone-verification/verify", new() { ["phone"] = phone, ["code"] = code, ["flowId"] = flowId, ["deviceId"] = deviceId });
        var json = await verify.ShouldHaveJsonAsync(HttpStatusCode.OK);
        return json.GetProperty("phoneProof").GetString()!;
    }

    /// <summary>POST /signup/start with a phone proof.</summary>
    /// <param name="client">The client.</param>
    /// <param name="phone">The phone.</param>
    /// <param name="deviceId">The device.</param>
    /// <param name="proof">The proof.</param>
    /// <param name="useCookies">Adds <c>?useCookies=true</c>.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> SignupWithProofAsync(this HttpClient client, string phone, string? deviceId, string proof, bool useCookies = false)
        => client.PostBodyAsync(useCookies ? "/signup/start?useCookies=true" : "/signup/start", new() { ["phone"] = phone, ["deviceId"] = deviceId, ["phoneProof"] = proof, ["password"] = TestData.Password, ["name"] = "Ana" });

    /// <summary>Signs up an account identified by <paramref name="phone"/> (an SMS signup with no email).</summary>
    /// <param name="app">The app.</param>
    /// <param name="client">The client.</param>
    /// <param name="phone">The phone.</param>
    /// <returns>A task.</returns>
    public static async Task SignUpByPhoneAsync(this SampleAppFactory app, HttpClient client, string phone)
    {
        ArgumentNullException.ThrowIfNull(app);
        var flowId = await (await client.PostBodyAsync("/signup/start", new() { ["phone"] = phone, ["channel"] = "sms", ["password"] = TestData.Password, ["name"] = "Ana" })).FlowIdAsync();
        var code = await app.ReadCodeAsync(phone);
        (await client.PostBodyAsync("/signup/verify", new() { ["phone"] = phone, ["code"] = code, ["flowId"] = flowId })).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>Status, header names and body (trace id and flow id masked) of an answer.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The snapshot.</returns>
    public static async Task<(int Status, string Headers, string Body)> SnapshotAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsStringAsync();
        body = FlowId().Replace(TraceId().Replace(body, string.Empty), "\"flowId\":\"…\"");
        var headers = string.Join(",", response.Headers.Concat(response.Content.Headers).Select(h => h.Key.ToLowerInvariant()).Where(h => h != "date").Order(StringComparer.Ordinal));
        return ((int)response.StatusCode, headers, body);
    }

    [GeneratedRegex("""(,"traceId":"[^"]*"|"traceId":"[^"]*",?)""")]
    private static partial Regex TraceId();

    [GeneratedRegex(""""flowId":"[A-Za-z0-9_-]{22}"""")]
    private static partial Regex FlowId();
}
