using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace OtpVerification.AspNetCore.OpenApi;

/// <summary>
/// Completes the OpenAPI operations of the OtpVerification endpoints: the JSON request body
/// (the endpoints read it themselves, so the generator cannot see it) and, per operation, the
/// problem <c>code</c>s it can answer, as an <c>x-problem-codes</c> extension (status → codes) and
/// in each response's description. Other endpoints get the codes declared with
/// <c>WithProblemCodes(status, codes…)</c>.
/// </summary>
internal sealed class OtpProblemCodesTransformer : IOpenApiOperationTransformer
{
    /// <summary>The extension's name, on the operation and on each response.</summary>
    public const string ExtensionName = "x-problem-codes";

    private static readonly ProblemCodesMetadata[] SendCodes =
    [
        new(StatusCodes.Status400BadRequest, "validation"),
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large"),
        new(StatusCodes.Status429TooManyRequests, "too_frequent", "rate_limited"),
        new(StatusCodes.Status503ServiceUnavailable, "unavailable"),
    ];

    private static readonly ProblemCodesMetadata[] VerifyCodes =
    [
        new(StatusCodes.Status400BadRequest, "validation", "flow_expired", "invalid_code", "code_expired", "max_attempts", "device_mismatch"),
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large"),
        new(StatusCodes.Status409Conflict, "email_taken"),
        new(StatusCodes.Status503ServiceUnavailable, "unavailable"),
    ];

    private static readonly ProblemCodesMetadata[] ResetCompleteCodes =
    [
        new(StatusCodes.Status400BadRequest, "validation", "flow_expired", "invalid_code", "code_expired", "max_attempts"),
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large"),
        new(StatusCodes.Status503ServiceUnavailable, "unavailable"),
    ];

    private static readonly ProblemCodesMetadata[] SignInVerifyCodes =
    [
        new(StatusCodes.Status400BadRequest, "validation", "flow_expired", "invalid_code", "code_expired", "max_attempts", "device_mismatch"),
        new(StatusCodes.Status413PayloadTooLarge, "payload_too_large"),
        new(StatusCodes.Status503ServiceUnavailable, "unavailable"),
    ];

    private static readonly ProblemCodesMetadata[] PhoneVerifyCodes = SignInVerifyCodes;

    /// <inheritdoc />
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(context);
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var (requestType, codes) = Known(context);
        codes = [.. codes, .. metadata.OfType<ProblemCodesMetadata>()];
        if (requestType is not null && operation.RequestBody is null)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(requestType, null, cancellationToken).ConfigureAwait(false) },
                },
            };
        }

        if (codes.Length == 0)
        {
            return;
        }

        var byStatus = codes.GroupBy(c => c.StatusCode).OrderBy(g => g.Key)
            .ToDictionary(g => g.Key.ToString(CultureInfo.InvariantCulture), g => g.SelectMany(c => c.Codes).Distinct(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        var all = new JsonObject();
        operation.Responses ??= [];
        foreach (var (status, statusCodes) in byStatus)
        {
            all[status] = new JsonArray([.. statusCodes.Select(c => (JsonNode)JsonValue.Create(c))]);
            var list = string.Join(", ", statusCodes.Select(c => "`" + c + "`"));
            if (operation.Responses.TryGetValue(status, out var existing) && existing is OpenApiResponse response)
            {
                response.Description = (string.IsNullOrEmpty(response.Description) ? string.Empty : response.Description + ". ") + "Problem codes: " + list + ".";
                response.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
                response.Extensions[ExtensionName] = new JsonNodeExtension(new JsonArray([.. statusCodes.Select(c => (JsonNode)JsonValue.Create(c))]));
            }
            else if (existing is null)
            {
                operation.Responses[status] = new OpenApiResponse
                {
                    Description = "Problem codes: " + list + ".",
                    Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                    {
                        ["application/problem+json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken).ConfigureAwait(false) },
                    },
                    Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal)
                    {
                        [ExtensionName] = new JsonNodeExtension(new JsonArray([.. statusCodes.Select(c => (JsonNode)JsonValue.Create(c))])),
                    },
                };
            }
        }

        operation.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
        operation.Extensions[ExtensionName] = new JsonNodeExtension(all);
    }

    /// <summary>The request type and codes of the endpoints this package maps, found by their tag and the last segment of their route.</summary>
    private static (Type? Request, ProblemCodesMetadata[] Codes) Known(OpenApiOperationTransformerContext context)
    {
        var tags = context.Description.ActionDescriptor.EndpointMetadata.OfType<ITagsMetadata>().SelectMany(t => t.Tags).ToHashSet(StringComparer.Ordinal);
        var path = context.Description.RelativePath ?? string.Empty;
        var action = path[(path.LastIndexOf('/') + 1)..];
        if (tags.Contains("OtpSignup"))
        {
            return action switch
            {
                "start" => (context.ApplicationServices.GetService<OtpSignupFormType>()?.Type ?? typeof(OtpSignupForm), [.. SendCodes, new(StatusCodes.Status400BadRequest, "invalid_proof"), new(StatusCodes.Status409Conflict, "email_taken")]),
                "resend" => (typeof(OtpAddressRequest), SendCodes),
                "verify" => (typeof(OtpVerifyRequest), VerifyCodes),
                _ => (null, []),
            };
        }

        if (tags.Contains("OtpPasswordReset"))
        {
            return action switch
            {
                "start" => (typeof(OtpAddressRequest), SendCodes),
                "complete" => (typeof(OtpPasswordResetCompleteRequest), ResetCompleteCodes),
                _ => (null, []),
            };
        }

        if (tags.Contains("OtpSignIn"))
        {
            return action switch
            {
                "start" => (typeof(OtpAddressRequest), SendCodes),
                "verify" => (typeof(OtpVerifyRequest), SignInVerifyCodes),
                _ => (null, []),
            };
        }

        if (tags.Contains("OtpPhoneVerification"))
        {
            return action switch
            {
                "start" => (typeof(OtpPhoneVerificationRequest), [.. SendCodes, new(StatusCodes.Status409Conflict, "email_taken")]),
                "verify" => (typeof(OtpPhoneVerificationRequest), PhoneVerifyCodes),
                _ => (null, []),
            };
        }

        return (null, []);
    }
}

/// <summary>
/// The problem <c>code</c>s an endpoint can answer with one status, for the OpenAPI document
/// (<see cref="OtpProblemCodesTransformer.ExtensionName"/>). Add it with
/// <c>WithProblemCodes(status, codes…)</c>.
/// </summary>
public sealed class ProblemCodesMetadata
{
    /// <summary>Creates the metadata.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="codes">The <c>code</c> members answered with it.</param>
    public ProblemCodesMetadata(int statusCode, params string[] codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        StatusCode = statusCode;
        Codes = codes;
    }

    /// <summary>The HTTP status.</summary>
    public int StatusCode { get; }

    /// <summary>The <c>code</c> members answered with <see cref="StatusCode"/>.</summary>
    public IReadOnlyList<string> Codes { get; }
}
