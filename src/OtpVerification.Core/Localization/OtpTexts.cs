using System.Globalization;
using System.Resources;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace OtpVerification;

/// <summary>
/// Where OtpVerification's texts come from: problem titles (<c>Problem.{code}</c>), validation
/// messages (<c>Validation.{name}</c>, <c>Identity.{IdentityError.Code}</c>) and the email and SMS
/// wording (<c>Message.{name}</c>). Each text is looked up, in the culture asked for, first in the
/// app's own localizers (<see cref="OtpLocalizationOptions.ResourceTypes"/>), then in the built-in
/// resources (<c>OtpTexts.resx</c>: English, and Spanish in <c>OtpTexts.es.resx</c>), each
/// falling back from a specific culture to its parents; a language nobody translated gets English.
/// </summary>
public sealed class OtpTexts
{
    /// <summary>The languages of the built-in texts: <c>en</c> (also the fallback) and <c>es</c>.</summary>
    public static IReadOnlyList<string> BuiltInCultures { get; } = ["en", "es"];

    private static readonly ResourceManager BuiltIn = new(typeof(OtpTexts));

    /// <summary>How many built-in texts are remembered (keys × cultures; a lookup that finds nothing is never remembered).</summary>
    private const int MaxRemembered = 4096;

    /// <summary>
    /// Built-in texts already looked up, by culture and key: <see cref="ResourceManager.GetString(string, CultureInfo)"/>
    /// takes a lock on every call, which every answer of an endpoint under load contends for.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Culture, string Key), string> Remembered = new();

    private readonly IStringLocalizer[] _appLocalizers;

    /// <summary>Creates the built-in texts only (no app localizers).</summary>
    public OtpTexts()
    {
        _appLocalizers = [];
    }

    /// <summary>Creates the texts with the app's localizers of <paramref name="options"/>, made by <paramref name="factory"/>.</summary>
    /// <param name="options">The app's resource types.</param>
    /// <param name="factory">Makes a localizer per resource type; <see langword="null"/> when the app registered no localization (then only the built-in texts are used).</param>
    /// <exception cref="InvalidOperationException">Resource types are listed but no <see cref="IStringLocalizerFactory"/> is registered.</exception>
    public OtpTexts(IOptions<OtpLocalizationOptions> options, IStringLocalizerFactory? factory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var types = options.Value.ResourceTypes;
        if (types.Count > 0 && factory is null)
        {
            throw new InvalidOperationException("OtpLocalizationOptions.ResourceTypes needs an IStringLocalizerFactory: call services.AddLocalization().");
        }

        _appLocalizers = [.. types.Select(t => factory!.Create(t))];
    }

    /// <summary>The text of <paramref name="key"/> in <paramref name="culture"/>, formatted with <paramref name="args"/> in that culture.</summary>
    /// <param name="key">The key, e.g. <c>Problem.invalid_code</c>.</param>
    /// <param name="culture">The culture.</param>
    /// <param name="args">Values for the text's <c>{0}</c>, <c>{1}</c>…</param>
    /// <returns>The text; the key itself when nobody has it (never <see langword="null"/>).</returns>
    public string Get(string key, CultureInfo culture, params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(culture);
        var text = Find(key, culture) ?? key;
        return args is { Length: > 0 } ? string.Format(culture, text, args) : text;
    }

    /// <summary>The text of <paramref name="key"/> in <paramref name="culture"/>, or <see langword="null"/> when neither the app nor the built-in texts have it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="culture">The culture.</param>
    /// <returns>The unformatted text, or <see langword="null"/>.</returns>
    public string? Find(string key, CultureInfo culture)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(culture);
        if (_appLocalizers.Length > 0)
        {
            // IStringLocalizer reads the current UI culture; the lookup is synchronous, so it is set for it alone.
            var previous = CultureInfo.CurrentUICulture;
            try
            {
                CultureInfo.CurrentUICulture = culture;
                foreach (var localizer in _appLocalizers)
                {
                    LocalizedString found;
                    try
                    {
                        found = localizer[key];
                    }
                    catch (MissingManifestResourceException)
                    {
                        // The app ships only some cultures (a MyOtpTexts.fr.resx and no neutral file): not found here.
                        continue;
                    }

                    if (!found.ResourceNotFound)
                    {
                        return found.Value;
                    }
                }
            }
            finally
            {
                CultureInfo.CurrentUICulture = previous;
            }
        }

        if (Remembered.TryGetValue((culture.Name, key), out var remembered))
        {
            return remembered;
        }

        // Only a text found is remembered: the keys of the built-in texts are few, while a key
        // nobody has may be anything (an app's DataAnnotations message, with the client's own
        // text in it), and remembering those would keep what clients send for the process's life.
        var text = BuiltIn.GetString(key, culture);
        if (text is not null && Remembered.Count < MaxRemembered)
        {
            Remembered.TryAdd((culture.Name, key), text);
        }

        return text;
    }
}

/// <summary>The app's texts for OtpVerification: added languages and changed wording.</summary>
public sealed class OtpLocalizationOptions
{
    /// <summary>
    /// Resource types of the app (a class beside <c>MyOtpTexts.fr.resx</c>, say), asked through the
    /// registered <see cref="IStringLocalizerFactory"/> before the built-in texts, in order, with
    /// the same keys (<c>Problem.{code}</c>, <c>Validation.{name}</c>, <c>Message.{name}</c>; see
    /// <see cref="OtpTexts"/>). A key a type does not have passes on. Put wording you change in
    /// culture-specific files: an entry of a neutral file answers for every language.
    /// </summary>
    public IList<Type> ResourceTypes { get; } = [];
}
