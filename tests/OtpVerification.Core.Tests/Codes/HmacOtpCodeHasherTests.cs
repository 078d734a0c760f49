using Microsoft.Extensions.Options;

namespace OtpVerification.Core.Tests.Codes;

public sealed class HmacOtpCodeHasherTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private readonly HmacOtpCodeHasher _hasher = new(Key);

    [Fact]
    public void Hash_UnderManyKeysInterleavedOnManyThreads_IsAlwaysTheHmacOfItsOwnKey()
    {
        // Each thread keeps the HMACs of its last four keys: six hashers used in turn make it
        // replace them again and again, and every hash must still be the one of its own key.
        var keys = Enumerable.Range(1, 6).Select(k => Enumerable.Range(0, 32).Select(i => (byte)(i * k + k)).ToArray()).ToArray();
        var hashers = keys.Select(k => new HmacOtpCodeHasher(k)).ToArray();
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
        {
            var which = (n * 7) % keys.Length;
            var address = $"user{n}@example.com";
            var code = (n % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
            var expected = System.Security.Cryptography.HMACSHA256.HashData(keys[which], (byte[])[(byte)OtpPurpose.Signup, .. System.Text.Encoding.UTF8.GetBytes(address), 0, .. System.Text.Encoding.UTF8.GetBytes(code)]);
            hashers[which].Hash(OtpPurpose.Signup, address, code).Should().Equal(expected);
            hashers[(which + 1) % keys.Length].Hash(OtpPurpose.Signup, address, code).Should().NotEqual(expected);
        });
    }

    private delegate void MacFunction(byte[] key, ReadOnlySpan<byte> data, Span<byte> destination);

    [Fact]
    public void Hash_AfterAnHmacCouldNotBeMadeOnTheThread_StillWorksForTheKeyItsSlotHeld()
    {
        // The per-thread cache replaces a slot's HMAC by disposing it and making the next one. If
        // making it fails, the slot must not still name its old key: that key would get a disposed
        // HMAC on every later hash on this thread (a right code failing, key names throwing).
        var first = new HmacOtpCodeHasher(Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray());
        var second = new HmacOtpCodeHasher(Enumerable.Range(0, 32).Select(i => (byte)(i + 2)).ToArray());
        var mac = typeof(HmacOtpCodeHasher).GetMethod("Mac", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.CreateDelegate<MacFunction>();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                // Four keys fill the thread's four slots: the next miss replaces first's code key.
                var expected = first.Hash(OtpPurpose.Signup, "ana@example.com", "123456");
                first.KeyName(OtpPurpose.Signup, "ana@example.com");
                second.Hash(OtpPurpose.Signup, "ana@example.com", "123456");
                second.KeyName(OtpPurpose.Signup, "ana@example.com");

                // An HMAC that cannot be made (here: no key) in place of first's.
                var make = () => mac(null!, "x"u8, new byte[32]);
                make.Should().Throw<ArgumentNullException>();

                first.Hash(OtpPurpose.Signup, "ana@example.com", "123456").Should().Equal(expected);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        failure.Should().BeNull();
    }

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
        var options = Microsoft.Extensions.Options.Options.Create(new OtpVerificationOptions());

        new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234").Should().NotEqual(new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234"));
    }

    [Fact]
    public void Constructor_ConfiguredKey_MatchesTheExplicitKey()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new OtpVerificationOptions { Code = { HashKey = Convert.ToBase64String(Key) } });

        new HmacOtpCodeHasher(options).Hash(OtpPurpose.Signup, "a@b.co", "1234").Should().Equal(_hasher.Hash(OtpPurpose.Signup, "a@b.co", "1234"));
    }
    // Rotation (issue 19): HashKey = new key, PreviousHashKey = old key, KeyNameKey = the key names were made with.
    private static readonly string OldKey = Convert.ToBase64String(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
    private static readonly string NewKey = Convert.ToBase64String(Enumerable.Range(200, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void HashCandidates_NoPreviousKey_IsTheHashAlone()
    {
        var candidates = _hasher.HashCandidates(OtpPurpose.Signup, "ana@example.com", "123456");

        candidates.Should().ContainSingle().Which.Should().Equal(_hasher.Hash(OtpPurpose.Signup, "ana@example.com", "123456"));
    }

    [Fact]
    public void HashCandidates_DuringARotation_ListsTheCurrentKeysHashFirst()
    {
        var rotated = FromOptions(NewKey, previous: OldKey, keyName: OldKey);

        var candidates = rotated.HashCandidates(OtpPurpose.Signup, "ana@example.com", "123456");

        candidates.Should().HaveCount(2);
        candidates[0].Should().Equal(FromOptions(NewKey).Hash(OtpPurpose.Signup, "ana@example.com", "123456"));
    }

    [Fact]
    public void HashCandidates_WhilePreviousKeyIsConfigured_IncludeTheHashStoredUnderThePreviousKey()
    {
        var stored = FromOptions(OldKey).Hash(OtpPurpose.Signup, "ana@example.com", "123456");

        var candidates = FromOptions(NewKey, previous: OldKey, keyName: OldKey).HashCandidates(OtpPurpose.Signup, "ana@example.com", " 123456 ");

        candidates.Should().ContainEquivalentOf(stored);
    }

    [Fact]
    public void HashCandidates_AfterPreviousKeyIsRemoved_NoLongerIncludeTheHashStoredUnderIt()
    {
        var stored = FromOptions(OldKey).Hash(OtpPurpose.Signup, "ana@example.com", "123456");

        var candidates = FromOptions(NewKey, previous: null, keyName: OldKey).HashCandidates(OtpPurpose.Signup, "ana@example.com", "123456");

        candidates.Should().NotContainEquivalentOf(stored);
    }

    [Fact]
    public void HashCandidates_WrongCodeDuringARotation_MatchesNeitherKeysHash()
    {
        var stored = FromOptions(OldKey).Hash(OtpPurpose.Signup, "ana@example.com", "123456");

        var candidates = FromOptions(NewKey, previous: OldKey, keyName: OldKey).HashCandidates(OtpPurpose.Signup, "ana@example.com", "123457");

        candidates.Should().NotContainEquivalentOf(stored);
    }

    [Fact]
    public void HashCandidates_ExplicitPreviousKey_IncludeTheHashUnderIt()
    {
        var old = new byte[32];
        var stored = new HmacOtpCodeHasher(old).Hash(OtpPurpose.PasswordReset, "+14155550123", "0042");

        new HmacOtpCodeHasher(Key, old, keyNameKey: null).HashCandidates(OtpPurpose.PasswordReset, "+14155550123", "0042").Should().ContainEquivalentOf(stored);
    }

    [Fact]
    public void HashCandidates_HasherWithoutItsOwn_DefaultsToTheHashAlone()
    {
        IOtpCodeHasher hasher = new MinimalHasher();

        hasher.HashCandidates(OtpPurpose.Signup, "a@b.co", "1234").Should().ContainSingle().Which.Should().Equal(MinimalHasher.Fixed);
    }

    [Fact]
    public void KeyName_ThroughARotationThatKeepsKeyNameKey_StaysTheSame()
    {
        // Before: one key. During: new key, old key as previous and as KeyNameKey. After: the previous key dropped.
        var before = FromOptions(OldKey).KeyName(OtpPurpose.Signup, "ana@example.com");
        var during = FromOptions(NewKey, previous: OldKey, keyName: OldKey).KeyName(OtpPurpose.Signup, "ana@example.com");
        var after = FromOptions(NewKey, previous: null, keyName: OldKey).KeyName(OtpPurpose.Signup, "ana@example.com");

        new[] { during, after }.Should().AllBe(before);
    }

    [Fact]
    public void KeyName_NextRotationKeepingKeyNameKey_StaysTheSame()
    {
        var third = Convert.ToBase64String(Enumerable.Range(50, 32).Select(i => (byte)i).ToArray());

        var name = FromOptions(third, previous: NewKey, keyName: OldKey).KeyName(OtpPurpose.Signup, "ana@example.com");

        name.Should().Be(FromOptions(OldKey).KeyName(OtpPurpose.Signup, "ana@example.com"));
    }

    [Fact]
    public void KeyName_DoesNotDependOnThePreviousKey()
    {
        var withPrevious = FromOptions(NewKey, previous: OldKey, keyName: NewKey).KeyName(OtpPurpose.Signup, "ana@example.com");

        withPrevious.Should().Be(FromOptions(NewKey).KeyName(OtpPurpose.Signup, "ana@example.com"));
    }

    [Fact]
    public void KeyName_HashKeyChangedWithoutKeyNameKey_Changes()
    {
        // Why a rotation must keep KeyNameKey: names derived from the code key move with it.
        FromOptions(NewKey).KeyName(OtpPurpose.Signup, "ana@example.com").Should().NotBe(FromOptions(OldKey).KeyName(OtpPurpose.Signup, "ana@example.com"));
    }

    [Fact]
    public void Constructor_PreviousKeyShorterThan32Bytes_Throws()
    {
        var act = () => new HmacOtpCodeHasher(Key, new byte[31], keyNameKey: null);

        act.Should().Throw<ArgumentException>().WithParameterName("previousKey");
    }

    [Fact]
    public void IsKeyConfigured_NoConfiguredKey_IsFalse()
    {
        new HmacOtpCodeHasher(Microsoft.Extensions.Options.Options.Create(new OtpVerificationOptions())).IsKeyConfigured.Should().BeFalse();
    }

    [Fact]
    public void HasPreviousKey_PreviousKeyConfigured_IsTrue()
    {
        FromOptions(NewKey, previous: OldKey, keyName: OldKey).HasPreviousKey.Should().BeTrue();
    }

    private static HmacOtpCodeHasher FromOptions(string key, string? previous = null, string? keyName = null)
        => new(Microsoft.Extensions.Options.Options.Create(new OtpVerificationOptions { Code = { HashKey = key, PreviousHashKey = previous, KeyNameKey = keyName } }));

    private sealed class MinimalHasher : IOtpCodeHasher
    {
        public static readonly byte[] Fixed = [1, 2, 3];

        public int HashSize => 3;

        public byte[] Hash(OtpPurpose purpose, string address, ReadOnlySpan<char> code) => Fixed;

        public string KeyName(OtpPurpose purpose, string address) => address;
    }
}
