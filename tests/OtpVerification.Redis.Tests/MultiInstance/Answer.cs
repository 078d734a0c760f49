using System.Net;
using System.Text.Json;

namespace OtpVerification.Redis.Tests.MultiInstance;

/// <summary>A response reduced to what a bulk assertion needs: the status, the problem <c>code</c> and the body.</summary>
/// <param name="Instance">The instance that answered.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Code">The problem's <c>code</c>, or null for a non-problem answer.</param>
/// <param name="Body">The raw body.</param>
public sealed record Answer(string Instance, HttpStatusCode Status, string? Code, string Body)
{
    /// <summary>Reads and disposes the response.</summary>
    /// <param name="instance">The instance that answered.</param>
    /// <param name="response">The response.</param>
    /// <returns>The answer.</returns>
    public static async Task<Answer> ReadAsync(string instance, HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            string? code = null;
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
            {
                using var document = JsonDocument.Parse(body);
                code = document.RootElement.TryGetProperty("code", out var value) ? value.GetString() : null;
            }

            return new Answer(instance, response.StatusCode, code, body);
        }
    }

    /// <summary>The answer as <c>status code</c>, e.g. <c>400 invalid_code</c>, for grouping.</summary>
    public string Kind => Code is null ? ((int)Status).ToString(System.Globalization.CultureInfo.InvariantCulture) : FormattableString.Invariant($"{(int)Status} {Code}");

    /// <summary><c>attemptsRemaining</c> of an <c>invalid_code</c> answer, when present.</summary>
    public int? AttemptsRemaining
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("attemptsRemaining", out var left) ? left.GetInt32() : null;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Instance}: {Kind} {Body}";
}
