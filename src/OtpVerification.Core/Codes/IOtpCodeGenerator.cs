namespace OtpVerification;

/// <summary>Makes one-time codes.</summary>
public interface IOtpCodeGenerator
{
    /// <summary>Returns a new numeric code of <paramref name="length"/> digits, leading zeros kept.</summary>
    /// <param name="length">Digits, 4 to 10.</param>
    /// <returns>The code, as ASCII digits.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is outside 4 to 10.</exception>
    string Generate(int length);
}

/// <summary>
/// The default generator: each digit drawn uniformly from a cryptographically secure source
/// (<see cref="System.Security.Cryptography.RandomNumberGenerator"/>), so every code of the
/// length, <c>000000</c> and <c>999999</c> included, is equally likely.
/// </summary>
public sealed class RandomOtpCodeGenerator : IOtpCodeGenerator
{
    /// <inheritdoc />
    public string Generate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 10);
        return OtpRandom.Digits(length);
    }
}
