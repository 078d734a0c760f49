using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OtpVerification.AspNetCore;

/// <summary>
/// Reads a JSON body by hand so every client mistake gets the contract's answer: over 64 KiB is
/// 413; a content type other than JSON is 415; malformed JSON, a wrong JSON type for a field or a
/// property given twice (in any letter case) is 400 <c>validation</c> naming the field; never a 500.
/// </summary>
internal static class OtpRequestReader
{
    public const int MaxBodyBytes = 64 * 1024;

    public static async ValueTask<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, OtpProblems.UnsupportedMediaType());
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, OtpProblems.PayloadTooLarge());
        }

        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxBodyBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, MaxBodyBytes + 1) - length), request.HttpContext.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > MaxBodyBytes)
                {
                    return (null, OtpProblems.PayloadTooLarge());
                }
            }

            if (length == 0)
            {
                return (null, OtpProblems.Validation("body", OtpRequestLocalization.Text(request.HttpContext, "Validation.BodyEmpty")));
            }

            try
            {
                var value = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), OtpJson.Options);
                return value is null
                    ? (null, OtpProblems.Validation("body", OtpRequestLocalization.Text(request.HttpContext, "Validation.BodyNotObject")))
                    : (value, null);
            }
            catch (JsonException ex) when (ex.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
            {
                return (null, OtpProblems.Validation(FieldName(ex.Path), OtpRequestLocalization.Text(request.HttpContext, "Validation.DuplicateProperty")));
            }
            catch (JsonException ex)
            {
                return (null, OtpProblems.Validation(FieldName(ex.Path), OtpRequestLocalization.Text(request.HttpContext, "Validation.InvalidJson")));
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, OtpProblems.PayloadTooLarge());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    /// <summary>Turns a JSON path such as <c>$.email</c> into the field name <c>email</c>; <c>body</c> for the root.</summary>
    private static string FieldName(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        var name = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        var cut = name.IndexOfAny(['.', '[']);
        if (cut > 0)
        {
            name = name[..cut];
        }

        name = name.Trim('[', ']', '\'');
        return name.Length == 0 || name.Length > 64 ? "body" : char.ToLowerInvariant(name[0]) + name[1..];
    }
}
