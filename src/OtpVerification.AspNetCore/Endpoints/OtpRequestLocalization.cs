using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OtpVerification.AspNetCore;

/// <summary>
/// The language of an OtpVerification endpoint's answer and of the message it sends.
/// When the app runs ASP.NET Core's RequestLocalization (an <see cref="IRequestCultureFeature"/>
/// is present), its choice stands. Otherwise the endpoint picks the first of the request's
/// <c>Accept-Language</c> entries (by quality) that one of <see cref="OtpMessageOptions.SupportedCultures"/>
/// matches, itself or through its parents (<c>es-MX</c> → <c>es</c>), and else
/// <see cref="OtpMessageOptions.Culture"/>; it sets the current culture and UI culture for the
/// endpoint alone, never for the rest of the app.
/// </summary>
internal static class OtpRequestLocalization
{
    /// <summary>How many <c>Accept-Language</c> entries are tried (RequestLocalization tries 3).</summary>
    public const int MaxAcceptLanguages = 5;

    /// <summary>The culture this request is answered in.</summary>
    public static CultureInfo Resolve(HttpContext context, OtpMessageOptions options)
    {
        var supported = options.SupportedCultures is { Length: > 0 } configured ? configured : OtpTexts.BuiltInCultures;
        var header = context.Request.GetTypedHeaders().AcceptLanguage;
        if (header is { Count: > 0 })
        {
            // Highest quality first; equal qualities keep the client's order (OrderByDescending is stable).
            foreach (var entry in header.Where(e => e.Quality is not <= 0).OrderByDescending(e => e.Quality ?? 1).Take(MaxAcceptLanguages))
            {
                var name = entry.Value.Value;
                if (string.IsNullOrEmpty(name) || name == "*" || name.Length > 64)
                {
                    continue;
                }

                for (var candidate = name; candidate.Length > 0; candidate = Parent(candidate))
                {
                    foreach (var culture in supported)
                    {
                        if (string.Equals(culture, candidate, StringComparison.OrdinalIgnoreCase))
                        {
                            return OtpCulturesCache.Get(culture);
                        }
                    }
                }
            }
        }

        return OtpCulturesCache.Get(options.Culture);
    }

    /// <summary>
    /// Runs <paramref name="next"/> in the request's culture (unless the app's RequestLocalization
    /// already chose it), then gives the problem answer the title of its <c>code</c> in that culture.
    /// </summary>
    public static async ValueTask<object?> RunLocalizedAsync(HttpContext context, Func<ValueTask<object?>> next)
    {
        var previousCulture = CultureInfo.CurrentCulture;
        var previousUiCulture = CultureInfo.CurrentUICulture;
        var changed = false;
        if (context.Features.Get<IRequestCultureFeature>() is null)
        {
            var options = context.RequestServices.GetRequiredService<IOptionsMonitor<OtpVerificationOptions>>().CurrentValue.Messages;
            var culture = Resolve(context, options);

            // Each set is an execution-context change (an allocation): none when the culture is already the one.
            if (!ReferenceEquals(previousCulture, culture) || !ReferenceEquals(previousUiCulture, culture))
            {
                CultureInfo.CurrentCulture = culture;
                CultureInfo.CurrentUICulture = culture;
                changed = true;
            }
        }

        try
        {
            var result = await next().ConfigureAwait(false);
            LocalizeTitle(result, context.RequestServices.GetRequiredService<OtpTexts>(), CultureInfo.CurrentUICulture);
            return result;
        }
        finally
        {
            if (changed)
            {
                CultureInfo.CurrentCulture = previousCulture;
                CultureInfo.CurrentUICulture = previousUiCulture;
            }
        }
    }

    /// <summary>A text in the request's culture (see <see cref="OtpTexts"/> for the keys).</summary>
    public static string Text(HttpContext context, string key, params object?[] args)
        => context.RequestServices.GetRequiredService<OtpTexts>().Get(key, CultureInfo.CurrentUICulture, args);

    /// <summary>The culture to write the message in, captured now: a message may be sent after the answer.</summary>
    public static CultureInfo MessageCulture => CultureInfo.CurrentUICulture;

    /// <summary>The host of this request, for the WebOTP line of an SMS (the configured <c>OtpSignup:Messages:WebOtpHost</c> wins in the engine).</summary>
    public static string? WebOtpHost(HttpContext context) => context.Request.Host.HasValue ? context.Request.Host.Host : null;

    /// <summary>Gives a problem answer the title of its <c>code</c> (<c>Problem.{code}</c>) in <paramref name="culture"/>.</summary>
    public static void LocalizeTitle(object? result, OtpTexts texts, CultureInfo culture)
    {
        if ((result is INestedHttpResult nested ? nested.Result : result) is ProblemHttpResult { ProblemDetails: { } problem }
            && problem.Extensions.TryGetValue("code", out var code) && code is string name
            && texts.Find("Problem." + name, culture) is { } title)
        {
            problem.Title = title;
        }
    }

    private static string Parent(string name)
    {
        var cut = name.LastIndexOf('-');
        return cut > 0 ? name[..cut] : string.Empty;
    }

    /// <summary>Culture objects by name; an unknown name (or invariant globalization mode) is the invariant culture, whose texts are English.</summary>
    private static class OtpCulturesCache
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, CultureInfo> Cultures = new(StringComparer.OrdinalIgnoreCase);

        public static CultureInfo Get(string? name) => Cultures.GetOrAdd(name ?? string.Empty, static n =>
        {
            try
            {
                return n.Length == 0 ? CultureInfo.InvariantCulture : CultureInfo.GetCultureInfo(n);
            }
            catch (CultureNotFoundException)
            {
                return CultureInfo.InvariantCulture;
            }
        });
    }
}
