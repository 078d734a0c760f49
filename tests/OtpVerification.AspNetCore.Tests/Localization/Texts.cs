using System.Collections;
using System.Globalization;
using System.Resources;
using System.Text.RegularExpressions;

namespace OtpVerification.AspNetCore.Tests.Localization;

/// <summary>The built-in texts, read straight from their resources (English neutral, Spanish satellite), and the documented problem codes.</summary>
internal static class Texts
{
    private static readonly ResourceManager Resources = new(typeof(OtpTexts));

    public static CultureInfo Spanish { get; } = CultureInfo.GetCultureInfo("es");

    /// <summary>Every key of the English resource with its text.</summary>
    public static IReadOnlyDictionary<string, string> English { get; } = Read(CultureInfo.InvariantCulture);

    /// <summary>Every key of the Spanish resource itself (no fallback) with its text.</summary>
    public static IReadOnlyDictionary<string, string> SpanishOnly { get; } = Read(Spanish);

    /// <summary>The problem codes documented in docs/problems.md (each row's anchor): a new code is documented there, so it is walked here.</summary>
    public static IReadOnlyList<string> DocumentedCodes { get; } = ReadDocumentedCodes();

    /// <summary>The key whose Spanish text (with its {0}… filled by anything) is exactly <paramref name="message"/>, or null.</summary>
    public static string? SpanishKeyOf(string message)
        => SpanishOnly.FirstOrDefault(e => Template(e.Value).IsMatch(message)).Key;

    /// <summary>The key whose English text is exactly <paramref name="message"/> (with its {0}… filled by anything), or null.</summary>
    public static string? EnglishKeyOf(string message)
        => English.FirstOrDefault(e => Template(e.Value).IsMatch(message)).Key;

    private static Regex Template(string text)
        => new("^" + Regex.Replace(Regex.Escape(text), @"\\\{\d+}", ".+") + "$", RegexOptions.CultureInvariant);

    private static Dictionary<string, string> Read(CultureInfo culture)
    {
        var set = Resources.GetResourceSet(culture, createIfNotExists: true, tryParents: false)
            ?? throw new InvalidOperationException($"No built-in resource for '{culture.Name}'.");
        return set.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string)e.Value!, StringComparer.Ordinal);
    }

    private static List<string> ReadDocumentedCodes()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "problems.md")))
        {
            dir = dir.Parent;
        }

        var path = Path.Combine(dir?.FullName ?? throw new InvalidOperationException("docs/problems.md not found above the test output."), "docs", "problems.md");
        var codes = Regex.Matches(File.ReadAllText(path), "<a id=\"([a-z_]+)\"></a>`([a-z_]+)`")
            .Select(m => m.Groups[2].Value).Distinct().ToList();
        return codes.Count >= 12 ? codes : throw new InvalidOperationException($"Only {codes.Count} codes were read from {path}.");
    }
}
