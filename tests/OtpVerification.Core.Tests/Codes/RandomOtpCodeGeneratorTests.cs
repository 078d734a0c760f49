namespace OtpVerification.Core.Tests.Codes;

/// <summary>One million six-digit codes, drawn once and shared by the statistical tests.</summary>
public sealed class MillionCodes
{
    public const int Count = 1_000_000;
    public const int Length = 6;

    public MillionCodes()
    {
        var generator = new RandomOtpCodeGenerator();
        var codes = new string[Count];
        for (var i = 0; i < Count; i++)
        {
            codes[i] = generator.Generate(Length);
        }

        Codes = codes;
    }

    public IReadOnlyList<string> Codes { get; }
}

public sealed class RandomOtpCodeGeneratorTests(MillionCodes sample) : IClassFixture<MillionCodes>
{
    /// <summary>
    /// The chi-square value with 9 degrees of freedom that a uniform source exceeds with
    /// probability 1e-6: a failure means a biased generator, not bad luck.
    /// </summary>
    private const double ChiSquareCritical9Dof = 44.8;

    [Fact]
    public void Generate_MillionCodes_EachIsSixAsciiDigits()
    {
        sample.Codes.Should().OnlyContain(c => c.Length == MillionCodes.Length && c.All(char.IsAsciiDigit));
    }

    [Fact]
    public void Generate_MillionCodes_LeadingZerosAppear()
    {
        var leadingZeros = sample.Codes.Count(c => c[0] == '0');

        // About a tenth; 90,000 is more than 30 standard deviations below that.
        leadingZeros.Should().BeGreaterThan(90_000);
    }

    [Fact]
    public void Generate_MillionCodes_DigitFrequencyIsUniform()
    {
        var counts = new long[10];
        foreach (var code in sample.Codes)
        {
            foreach (var c in code)
            {
                counts[c - '0']++;
            }
        }

        ChiSquare(counts).Should().BeLessThan(ChiSquareCritical9Dof);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Generate_MillionCodes_DigitFrequencyAtEachPositionIsUniform(int position)
    {
        var counts = new long[10];
        foreach (var code in sample.Codes)
        {
            counts[code[position] - '0']++;
        }

        ChiSquare(counts).Should().BeLessThan(ChiSquareCritical9Dof);
    }

    [Fact]
    public void Generate_MillionCodes_RepeatsNoMoreThanChanceAllows()
    {
        // 10^6 draws from 10^6 values leave about 1/e of the values unseen: ~632,120 distinct, sd ~ 480.
        var distinct = sample.Codes.Distinct(StringComparer.Ordinal).Count();

        distinct.Should().BeInRange(625_000, 640_000);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public void Generate_LengthFromFourToTen_ReturnsThatManyDigits(int length)
    {
        var code = new RandomOtpCodeGenerator().Generate(length);

        code.Should().MatchRegex($"^[0-9]{{{length}}}$");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(11)]
    public void Generate_LengthOutsideFourToTen_Throws(int length)
    {
        var act = () => new RandomOtpCodeGenerator().Generate(length);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static double ChiSquare(long[] counts)
    {
        var expected = counts.Sum() / (double)counts.Length;
        return counts.Sum(n => (n - expected) * (n - expected) / expected);
    }
}
