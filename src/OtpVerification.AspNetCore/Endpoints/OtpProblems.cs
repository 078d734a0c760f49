using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The RFC 9457 problem answers of the HTTP contract, each with a machine-readable <c>code</c>.
/// The titles here are the English fallback: every OtpVerification endpoint's filter gives an
/// answer the title of its code in the request's language (<c>Problem.{code}</c> of
/// <see cref="OtpTexts"/>, see <see cref="OtpRequestLocalization"/>). A new code is a method here,
/// a <c>Problem.{code}</c> entry in each OtpTexts*.resx, and a row in docs/problems.md.
/// </summary>
internal static class OtpProblems
{
    /// <summary>Where each problem <c>code</c> is documented; its <c>type</c> is this plus <c>#</c> and the code.</summary>
    public const string TypeBase = "https://github.com/otpverification/otpverification/blob/main/docs/problems.md";

    /// <summary>Seconds a 503 asks the client to wait (<c>Retry-After</c>).</summary>
    public const int UnavailableRetryAfterSeconds = 5;

    /// <summary>The problem type URI of a <c>code</c>.</summary>
    public static string TypeOf(string code) => TypeBase + "#" + code;

    public static ProblemHttpResult Validation(IReadOnlyDictionary<string, string[]> errors)
    {
        var problem = new HttpValidationProblemDetails(errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal))
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Type = TypeOf("validation"),
        };
        problem.Extensions["code"] = "validation";
        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult UnsupportedMediaType()
        => Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).");

    public static ProblemHttpResult Validation(string field, string message)
        => Validation(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult PayloadTooLarge()
        => Create(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "The request body is larger than 64 KiB.");

    public static ProblemHttpResult EmailTaken()
        => Create(StatusCodes.Status409Conflict, "email_taken", "This email address is already registered.");

    public static ProblemHttpResult InvalidProof()
        => Create(StatusCodes.Status400BadRequest, "invalid_proof", "The phone proof is not valid. Verify the phone again.");

    public static ProblemHttpResult Unavailable()
        => TypedResults.Problem(new UnavailableProblem());

    public static ProblemHttpResult InvalidCode(int? attemptsRemaining)
    {
        var problem = Details(StatusCodes.Status400BadRequest, "invalid_code", "The code is not valid.");
        if (attemptsRemaining is { } left)
        {
            problem.Extensions["attemptsRemaining"] = left;
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult FromOutcome(HttpContext context, OtpOutcome outcome, TimeSpan retryAfter, int? attemptsRemaining = null) => outcome switch
    {
        OtpOutcome.TooFrequent => TooMany(context, "too_frequent", "A code was sent to this address moments ago. Wait before asking for another.", retryAfter),
        OtpOutcome.RateLimited => TooMany(context, "rate_limited", "Too many codes were sent to this address this hour.", retryAfter),
        OtpOutcome.InvalidCode => InvalidCode(attemptsRemaining),
        OtpOutcome.CodeExpired => Create(StatusCodes.Status400BadRequest, "code_expired", "The code has expired. Ask for a new one."),
        OtpOutcome.MaxAttempts => Create(StatusCodes.Status400BadRequest, "max_attempts", "Too many wrong codes. Ask for a new one."),
        OtpOutcome.FlowExpired => Create(StatusCodes.Status400BadRequest, "flow_expired", "This verification is no longer current. Start again."),
        OtpOutcome.DeviceMismatch => Create(StatusCodes.Status400BadRequest, "device_mismatch", "The code must be entered on the device that requested it."),
        _ => Unavailable(),
    };

    private static ProblemHttpResult TooMany(HttpContext context, string code, string title, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1L, (long)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = Details(StatusCodes.Status429TooManyRequests, code, title);
        problem.Extensions["retryAfter"] = seconds;
        return TypedResults.Problem(problem);
    }

    private static ProblemHttpResult Create(int status, string code, string title) => TypedResults.Problem(Details(status, code, title));

    private static ProblemDetails Details(int status, string code, string title)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Type = TypeOf(code) };
        problem.Extensions["code"] = code;
        return problem;
    }

    /// <summary>503 <c>unavailable</c>; its <c>Retry-After</c> header is set when it is written (no HttpContext needed to make one).</summary>
    private sealed class UnavailableProblem : ProblemDetails
    {
        public UnavailableProblem()
        {
            Status = StatusCodes.Status503ServiceUnavailable;
            Title = "The service is temporarily unavailable. Try again shortly.";
            Type = TypeOf("unavailable");
            Extensions["code"] = "unavailable";
            Extensions["retryAfter"] = UnavailableRetryAfterSeconds;
        }
    }
}
