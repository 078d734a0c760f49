using System.Globalization;
using System.Runtime.CompilerServices;
using FluentAssertions;
using Xunit;

namespace OtpVerification.Core.Tests.Localization;

/// <summary>
/// The built-in texts are remembered (issue 16), but only texts that exist: an app's DataAnnotations
/// message is looked up as a key, and may carry what the client sent ("the name 'xyz…' is
/// reserved"), so a lookup that finds nothing must keep nothing.
/// </summary>
public sealed class OtpTextsMemoryTests
{
    [Fact]
    public void A_key_nobody_has_is_not_kept()
    {
        var texts = new OtpTexts();
        var kept = LookUpUnknownKeys(texts, 64);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        kept.Count(k => k.IsAlive).Should().Be(0, "a message that is no key (a client's text in it) is not remembered");
    }

    [Fact]
    public void Built_in_texts_are_still_found_in_their_culture()
    {
        var texts = new OtpTexts();
        for (var i = 0; i < 2; i++)
        {
            texts.Find("Problem.invalid_code", CultureInfo.GetCultureInfo("es")).Should().NotBeNull().And.NotBe(texts.Find("Problem.invalid_code", CultureInfo.GetCultureInfo("en")));
            texts.Find("Problem.no-such-key", CultureInfo.GetCultureInfo("es")).Should().BeNull();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> LookUpUnknownKeys(OtpTexts texts, int count)
    {
        var kept = new List<WeakReference>(count);
        for (var i = 0; i < count; i++)
        {
            var key = "The name '" + new string('x', 32 * 1024) + Guid.NewGuid().ToString("N") + "' is reserved.";
            texts.Find(key, CultureInfo.GetCultureInfo(i % 2 == 0 ? "en" : "es")).Should().BeNull();
            kept.Add(new WeakReference(key));
        }

        return kept;
    }
}
