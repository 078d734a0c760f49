using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Requests;

/// <summary>
/// Client mistakes in the body of every POST endpoint: each is a 400 (413 when too big) with a
/// problem+json <c>code</c>, never a 500.
/// </summary>
public sealed class MalformedRequestTests(SampleAppFactory app) : IClassFixture<SampleAppFactory>
{
    private readonly HttpClient _client = app.CreateClient();

    /// <summary>The five POST endpoints, each with a string field of its body other than the email.</summary>
    private static readonly Dictionary<string, string> StringField = new(StringComparer.Ordinal)
    {
        ["/signup/start"] = "password",
        ["/signup/resend"] = "email",
        ["/signup/verify"] = "code",
        ["/password-reset/start"] = "email",
        ["/password-reset/complete"] = "newPassword",
    };

    public static TheoryData<string> Endpoints => new(StringField.Keys);

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_InvalidJson_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, """{"email": "ana@example.com", """);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_NumberForEmail_Returns400ValidationOnEmail(string endpoint)
    {
        var response = await PostAsync(endpoint, """{"email": 5}""");

        await response.ShouldBeValidationProblemAsync("email");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_ObjectForStringField_Returns400ValidationOnThatField(string endpoint)
    {
        var field = StringField[endpoint];
        var response = await PostAsync(endpoint, field == "email" ? """{"email": {}}""" : "{\"email\": \"ana@example.com\", \"" + field + "\": {}}");

        await response.ShouldBeValidationProblemAsync(field);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_BooleanForStringField_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, $$"""{"email": "ana@example.com", "{{StringField[endpoint]}}": true}""");

        await response.ShouldBeValidationProblemAsync(StringField[endpoint]);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_ArrayBody_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, """[{"email": "ana@example.com"}]""");

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_NullBody_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, "null");

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_StringBody_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, "\"ana@example.com\"");

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_EmptyBody_Returns400Validation(string endpoint)
    {
        var response = await PostAsync(endpoint, string.Empty);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_TextPlainContentType_Returns415UnsupportedMediaType(string endpoint)
    {
        var response = await PostAsync(endpoint, """{"email": "ana@example.com"}""", "text/plain");

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_FormContentType_Returns415UnsupportedMediaType(string endpoint)
    {
        var response = await PostAsync(endpoint, "email=ana%40example.com", "application/x-www-form-urlencoded");

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_NoContentType_Returns415UnsupportedMediaType(string endpoint)
    {
        var response = await PostAsync(endpoint, """{"email": "ana@example.com"}""", contentType: null);

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_BodyOver64KiB_Returns413(string endpoint)
    {
        var response = await PostAsync(endpoint, OversizedBody());

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_ChunkedBodyOver64KiB_Returns413(string endpoint)
    {
        using var content = new ChunkedContent(Encoding.UTF8.GetBytes(OversizedBody()));

        var response = await _client.PostAsync(new Uri(endpoint, UriKind.Relative), content);

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_BodyOfExactly64KiB_IsNotRefusedAsTooLarge(string endpoint)
    {
        const string prefix = "{\"email\": \"ana@example.com\", \"padding\": \"";
        var body = prefix + new string('a', (64 * 1024) - prefix.Length - 2) + "\"}";
        Encoding.UTF8.GetByteCount(body).Should().Be(64 * 1024);

        var response = await PostAsync(endpoint, body);

        response.StatusCode.Should().NotBe(HttpStatusCode.RequestEntityTooLarge).And.BeOneOf(HttpStatusCode.Accepted, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_DeeplyNestedJson_Returns400Validation(string endpoint)
    {
        const int depth = 5_000;
        var body = """{"email": "ana@example.com", "nested": """ + new string('[', depth) + new string(']', depth) + "}";

        var response = await PostAsync(endpoint, body);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_DeeplyNestedObjects_Returns400Validation(string endpoint)
    {
        const int depth = 1_000;
        var body = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            body.Append("""{"a":""");
        }

        body.Append("1").Append('}', depth);

        var response = await PostAsync(endpoint, body.ToString());

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, "validation");
    }

    private static string OversizedBody() => "{\"email\": \"ana@example.com\", \"padding\": \"" + new string('a', 70_000) + "\"}";

    private async Task<HttpResponseMessage> PostAsync(string endpoint, string body, string? contentType = "application/json")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType) { CharSet = "utf-8" };
        }

        return await _client.PostAsync(new Uri(endpoint, UriKind.Relative), content);
    }

    /// <summary>A JSON body sent without a Content-Length (chunked), so only reading it reveals its size.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var offset = 0; offset < _bytes.Length; offset += 4096)
            {
                await stream.WriteAsync(_bytes.AsMemory(offset, Math.Min(4096, _bytes.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
