using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using OtpVerification.AspNetCore.OpenApi;

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Describes the OtpVerification endpoints in an OpenAPI document (Microsoft.AspNetCore.OpenApi).</summary>
    public static class OtpOpenApiOptionsExtensions
    {
        /// <summary>
        /// Adds the request bodies of the OtpVerification endpoints and, for every operation, the
        /// problem <c>code</c>s it can answer: an <c>x-problem-codes</c> extension (status → codes)
        /// and a line in each response's description. Use it in
        /// <c>services.AddOpenApi(o => o.AddOtpProblemCodes())</c>.
        /// </summary>
        /// <param name="options">The document's options.</param>
        /// <returns>The options.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
        public static OpenApiOptions AddOtpProblemCodes(this OpenApiOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            return options.AddOperationTransformer<OtpProblemCodesTransformer>();
        }
    }
}

namespace Microsoft.AspNetCore.Builder
{
    /// <summary>Declares the problem <c>code</c>s of an app's own endpoints for the OpenAPI document.</summary>
    public static class OtpProblemCodesEndpointConventionBuilderExtensions
    {
        /// <summary>
        /// Declares that the endpoint answers <paramref name="statusCode"/> problems with these
        /// <c>code</c>s; <c>AddOtpProblemCodes()</c> writes them into the OpenAPI document.
        /// </summary>
        /// <typeparam name="TBuilder">The builder type.</typeparam>
        /// <param name="builder">The endpoint's builder.</param>
        /// <param name="statusCode">The HTTP status.</param>
        /// <param name="codes">The codes.</param>
        /// <returns>The builder.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="codes"/> is null.</exception>
        public static TBuilder WithProblemCodes<TBuilder>(this TBuilder builder, int statusCode, params string[] codes)
            where TBuilder : IEndpointConventionBuilder
        {
            ArgumentNullException.ThrowIfNull(builder);
            ArgumentNullException.ThrowIfNull(codes);
            return builder.WithMetadata(new ProblemCodesMetadata(statusCode, codes));
        }
    }
}
