using Microsoft.Extensions.Options;

namespace OtpVerification.Core.Tests.Codes;

public sealed class HmacOtpCodeHasherTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private readonly HmacOtpCodeHasher _hasher = new(Key);

    [Fact]
    public void Hash_SameInputs_AreEqual()
    {
        _hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().Equal(_hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456"));
    }

    [Fact]
    public void Hash_OtherPurpose_Differs()
    {
        _hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().NotEqual(_hasher.Hash(OtpPurpose.PasswordReset, "ana@example.com", "123456"));
    }

    [Fact]
    public void Hash_OtherAddress_Differs()
    {
        _hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().NotEqual(_hasher.Hash(OtpPurpose.Signup, "bob@example.com", "123456"));
    }

    [Fact]
    public void Hash_AddressAndCodeBoundaryShifted_Differs()
    {
        _hasher.Hash(OtpPurpose.Signup, "a1", "23456").Should().NotEqual(_hasher.Hash(OtpPurpose.Signup, "a", "123456"));
    }

    [Fact]
    public void Hash_OtherKey_Differs()
    {
        var other = new HmacOtpCodeHasher(new byte[32]);

        other.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().NotEqual(_hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456"));
    }

    [Fact]
    public void Hash_CodeWithSurroundingWhiteSpace_EqualsTheTrimmedCode()
    {
        _hasher.Hash(OtpPurpose.Signup, "ana@example.com", " 123456\t").Should().Equal(_hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456"));
    }

    [Fact]
    public void Hash_AnyInput_HasHashSizeBytes()
    {
        _hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().HaveCount(_hasher.HashSize);
    }

    [Fact]
    public void Constructor_KeyShorterThan32Bytes_Throws()
    {
        var act = () => new HmacOtpCodeHasher(new byte[31]);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Constructor_NoConfiguredKey_DrawsAKeyPerInstance()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new OtpSignupOptions());

        new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234").Should().NotEqual(new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234"));
    }

    [Fact]
    public void Constructor_ConfiguredKey_MatchesTheExplicitKey()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new OtpSignupOptions { Code = { HashKey = Convert.ToBase64String(Key) } });

        new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234").Should().Equal(_hasher.Hash(OtpPurpose.Signup, "a@b.co", "1234"));
    }
}
