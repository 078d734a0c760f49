using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.OpenApi;

/// <summary><c>GET /openapi/v1.json</c> (CONTRACT.md): every endpoint, its bodies and its problem codes; Scalar at <c>/scalar</c> in Development only.</summary>
public sealed class OpenApiDocumentTests : IClassFixture<OpenApiDocumentTests.Document>
{
    private readonly Document _document;

    public OpenApiDocumentTests(Document document) => _document = document;

    public static TheoryData<string, string> Endpoints => new()
    {
        { "/signup/start", "post" },
        { "/signup/resend", "post" },
        { "/signup/verify", "post" },
        { "/password-reset/start", "post" },
        { "/password-reset/complete", "post" },
        { "/login", "post" },
        { "/api/me", "get" },
        { "/healthz", "get" },
    };

    public static TheoryData<string, string, string> ProblemCodes => new()
    {
        { "/signup/start", "400", "validation" },
        { "/signup/start", "409", "email_taken" },
        { "/signup/start", "413", "payload_too_large" },
        { "/signup/start", "429", "too_frequent" },
        { "/signup/start", "429", "rate_limited" },
        { "/signup/start", "503", "unavailable" },
        { "/signup/resend", "429", "too_frequent" },
        { "/signup/resend", "503", "unavailable" },
        { "/signup/verify", "400", "flow_expired" },
        { "/signup/verify", "400", "invalid_code" },
        { "/signup/verify", "400", "code_expired" },
        { "/signup/verify", "400", "max_attempts" },
        { "/signup/verify", "400", "device_mismatch" },
        { "/signup/verify", "409", "email_taken" },
        { "/signup/verify", "503", "unavailable" },
        { "/password-reset/start", "429", "rate_limited" },
        { "/password-reset/complete", "400", "invalid_code" },
        { "/password-reset/complete", "400", "flow_expired" },
        { "/password-reset/complete", "400", "validation" },
        { "/login", "401", "invalid_credentials" },
        { "/api/me", "401", "unauthorized" },
    };

    [Fact]
    public void Document_Parses_AsOpenApi3()
        => _document.Root.GetProperty("openapi").GetString().Should().StartWith("3.");

    [Theory]
    [MemberData(nameof(Endpoints))]
    public void Document_ListsEndpoint(string path, string method)
        => (_document.Root.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method, out _)).Should().BeTrue($"{method} {path} is an endpoint of the sample");

    [Theory]
    [MemberData(nameof(ProblemCodes))]
    public void Operation_ListsItsProblemCodes(string path, string status, string code)
    {
        var operation = _document.Operation(path);

        operation.GetProperty("x-problem-codes").GetProperty(status).EnumerateArray().Select(c => c.GetString()).Should().Contain(code);
    }

    [Theory]
    [MemberData(nameof(ProblemCodes))]
    public void Response_DescriptionNamesItsProblemCodes(string path, string status, string code)
        => _document.Operation(path).GetProperty("responses").GetProperty(status).GetProperty("description").GetString().Should().Contain("`" + code + "`");

    [Theory]
    [InlineData("/signup/start", "email")]
    [InlineData("/signup/start", "password")]
    [InlineData("/signup/start", "name")]
    [InlineData("/signup/verify", "flowId")]
    [InlineData("/signup/verify", "code")]
    [InlineData("/signup/resend", "email")]
    [InlineData("/password-reset/complete", "flowId")]
    [InlineData("/password-reset/complete", "newPassword")]
    public void RequestBody_SchemaHasField(string path, string field)
        => _document.Resolve(_document.Operation(path).GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"))
            .GetProperty("properties").TryGetProperty(field, out _).Should().BeTrue($"{path} takes {field}");

    [Theory]
    [InlineData("/signup/start", "202", "flowId")]
    [InlineData("/password-reset/start", "202", "flowId")]
    [InlineData("/signup/verify", "200", "userId")]
    public void Response_SchemaHasField(string path, string status, string field)
        => _document.Resolve(_document.Operation(path).GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema"))
            .GetProperty("properties").TryGetProperty(field, out _).Should().BeTrue($"{path} answers {field} with {status}");

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Scalar_OutsideDevelopment_Is404(string environment)
    {
        await using var factory = new SampleAppFactory();
        factory.WithEnvironment(environment);
        factory.WithServices(services => services.AddSingleton<OtpVerification.Senders.IOtpSender>(new OtpVerification.Testing.RecordingSender(OtpChannel.Email)));
        using var client = factory.CreateClient(new() { AllowAutoRedirect = false });

        var statuses = new[] { (await client.GetAsync(new Uri("/scalar", UriKind.Relative))).StatusCode, (await client.GetAsync(new Uri("/scalar/v1", UriKind.Relative))).StatusCode };

        statuses.Should().AllBeEquivalentTo(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Scalar_InDevelopment_ServesThePage()
    {
        await using var factory = new SampleAppFactory();
        using var client = factory.CreateClient();

        var response = await client.GetAsync(new Uri("/scalar/v1", UriKind.Relative));

        (await response.Content.ReadAsStringAsync()).Should().Contain("openapi/v1.json");
    }

    /// <summary>The sample's document, fetched once.</summary>
    public sealed class Document : IAsyncLifetime
    {
        private readonly SampleAppFactory _factory = new();

        public JsonElement Root { get; private set; }

        public JsonElement Operation(string path)
            => Root.GetProperty("paths").GetProperty(path).EnumerateObject().First().Value;

        /// <summary>Follows a <c>$ref</c> to <c>#/components/schemas/…</c>.</summary>
        public JsonElement Resolve(JsonElement schema)
            => schema.TryGetProperty("$ref", out var reference)
                ? Root.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!["#/components/schemas/".Length..])
                : schema;

        public async Task InitializeAsync()
        {
            using var client = _factory.CreateClient();
            var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
            response.EnsureSuccessStatusCode();
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Root = document.RootElement.Clone();
        }

        public async Task DisposeAsync() => await _factory.DisposeAsync();
    }
}
