using System.Globalization;

namespace OtpVerification.Core.Tests.Addresses;

public sealed class OtpAddressTests
{
    [Theory]
    [InlineData("ana@example.com", "ana@example.com")]
    [InlineData("  Ana@Example.COM  ", "ana@example.com")]
    [InlineData("\tANA.B+Tag@Sub.Example.Co.Uk\n", "ana.b+tag@sub.example.co.uk")]
    [InlineData("o'brien@example.ie", "o'brien@example.ie")]
    [InlineData("ana@example.com\u00a0", "ana@example.com")]
    public void TryNormalizeEmail_ValidAddress_IsTrimmedAndLowerCased(string input, string expected)
    {
        OtpAddress.TryNormalizeEmail(input, out var normalized).Should().BeTrue();

        normalized.Should().Be(expected);
    }

    [Fact]
    public void TryNormalizeEmail_UnderTurkishCulture_LowerCasesInvariantly()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
        try
        {
            OtpAddress.TryNormalizeEmail("INFO@EXAMPLE.COM", out var normalized);

            normalized.Should().Be("info@example.com");
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("ana")]
    [InlineData("@example.com")]
    [InlineData("ana@")]
    [InlineData("ana@@example.com")]
    [InlineData("ana@bob@example.com")]
    [InlineData("ana@example")]
    [InlineData("ana@example.")]
    [InlineData("ana@.example.com")]
    [InlineData("ana..b@example.com")]
    [InlineData("ana@example..com")]
    [InlineData("a na@example.com")]
    [InlineData("Ana <ana@example.com>")]
    [InlineData("ana@example.com,bob@example.com")]
    [InlineData("ana@example.com;bob@example.com")]
    [InlineData("\"ana\"@example.com")]
    [InlineData("ana@[127.0.0.1]")]
    [InlineData("ana\r\n@example.com")]
    public void TryNormalizeEmail_Malformed_IsRefused(string? input)
    {
        OtpAddress.TryNormalizeEmail(input, out var normalized).Should().BeFalse();
    }

    [Theory]
    [InlineData("\u0430na@example.com")] // Cyrillic a
    [InlineData("ana@ex\u0430mple.com")] // Cyrillic a in the domain
    [InlineData("\uff41na@example.com")] // fullwidth a
    [InlineData("ana\u200b@example.com")] // zero-width space
    [InlineData("ana@example.com\u200b")] // zero-width space the trim keeps
    [InlineData("\u0130nfo@example.com")] // dotted capital I
    [InlineData("jos\u00e9@example.com")] // accented letter
    [InlineData("ana\u00a0b@example.com")] // no-break space inside
    public void TryNormalizeEmail_LookAlikeUnicode_IsRefused(string input)
    {
        OtpAddress.TryNormalizeEmail(input, out _).Should().BeFalse();
    }

    [Fact]
    public void TryNormalizeEmail_254Characters_IsAccepted()
    {
        var address = Address(254);
        address.Length.Should().Be(254, "the arrangement must sit on the limit");

        OtpAddress.TryNormalizeEmail(address, out _).Should().BeTrue();
    }

    [Fact]
    public void TryNormalizeEmail_255Characters_IsRefused()
    {
        var address = Address(255);

        OtpAddress.TryNormalizeEmail(address, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("+14155550123", "+14155550123")]
    [InlineData("  +1 (415) 555-0123 ", "+14155550123")]
    [InlineData("+44 20 7946 0958", "+442079460958")]
    [InlineData("0044 20 7946 0958", "+442079460958")]
    [InlineData("+49.30.1234567", "+49301234567")]
    [InlineData("+12345678", "+12345678")]
    [InlineData("+123456789012345", "+123456789012345")]
    public void TryNormalizePhone_InternationalNumber_ReturnsE164(string input, string expected)
    {
        OtpAddress.TryNormalizePhone(input, out var normalized).Should().BeTrue();

        normalized.Should().Be(expected);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("4155550123")] // no country code marker
    [InlineData("(415) 555-0123")]
    [InlineData("+0123456789")] // country code cannot start with 0
    [InlineData("+1234567")] // 7 digits
    [InlineData("+1234567890123456")] // 16 digits
    [InlineData("++14155550123")]
    [InlineData("+1415555O123")] // letter O
    [InlineData("+1 415 555 0123 ext 4")]
    [InlineData("+1-415-555-0123#")]
    [InlineData("+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0662\u0663")] // Arabic-Indic digits
    [InlineData("+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff12\uff13")] // fullwidth digits
    [InlineData("+1 4 1 5 5 5 5 0 1 2 3 4 5 6 7 8 9")] // too long as typed
    public void TryNormalizePhone_NotAnInternationalNumber_IsRefused(string? input)
    {
        OtpAddress.TryNormalizePhone(input, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("ana@example.com", "a***@example.com")]
    [InlineData("+14155550123", "+1415***23")]
    [InlineData("+123", "***")]
    [InlineData(null, "(none)")]
    public void Mask_Address_HidesTheMiddle(string? address, string expected)
    {
        OtpAddress.Mask(address).Should().Be(expected);
    }

    [Theory]
    [InlineData("ana+1@example.com", "ana@example.com")]
    [InlineData("ana+@example.com", "ana@example.com")]
    [InlineData("ana+news+2024@example.com", "ana@example.com")]
    [InlineData("ana@example.com", "ana@example.com")]
    public void CanonicalMailbox_SubAddressTag_IsDropped(string email, string expected)
    {
        OtpAddress.CanonicalMailbox(email).Should().Be(expected);
    }

    [Theory]
    [InlineData("a.n.a@gmail.com", "ana@gmail.com")]
    [InlineData("an.a+x@gmail.com", "ana@gmail.com")]
    [InlineData("a.na@googlemail.com", "ana@gmail.com")]
    [InlineData("ana@googlemail.com", "ana@gmail.com")]
    public void CanonicalMailbox_Gmail_DropsDotsAndFoldsGooglemail(string email, string expected)
    {
        OtpAddress.CanonicalMailbox(email).Should().Be(expected);
    }

    [Theory]
    [InlineData("a.n.a@example.com")]
    [InlineData("a.n.a@mail.gmail.com")]
    [InlineData("a.n.a@gmail.com.example.org")]
    public void CanonicalMailbox_DotsOutsideGmail_AreKept(string email)
    {
        OtpAddress.CanonicalMailbox(email).Should().Be(email);
    }

    [Theory]
    [InlineData("+ana@example.com")]
    [InlineData("no-at-sign")]
    public void CanonicalMailbox_NothingBeforeTheTagOrNoDomain_IsKeptAsIs(string email)
    {
        OtpAddress.CanonicalMailbox(email).Should().Be(email);
    }

    [Fact]
    public void CanonicalMailbox_Null_Throws()
    {
        var act = () => OtpAddress.CanonicalMailbox(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    /// <summary>A plausible address of exactly <paramref name="length"/> characters (64-character local part, labels under 64).</summary>
    private static string Address(int length)
    {
        var prefix = new string('a', 64) + "@" + new string('b', 62) + "." + new string('c', 62) + ".";
        return prefix + new string('d', length - prefix.Length - 4) + ".com";
    }
}
