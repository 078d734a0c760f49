using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OtpVerification.Core.Tests.OptionsValidation;

public sealed class OtpVerificationOptionsValidationTests
{
    private static readonly string ValidKey = Convert.ToBase64String(new byte[32]);

    [Fact]
    public void Value_Defaults_AreValid()
    {
        var act = () => Resolve(_ => { });

        act.Should().NotThrow();
    }

    [Fact]
    public void Value_ValidHashKey_IsAccepted()
    {
        var act = () => Resolve(o => o.Code.HashKey = ValidKey);

        act.Should().NotThrow();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(11)]
    public void Value_CodeLengthOutOfRange_FailsNamingTheKey(int length)
    {
        var act = () => Resolve(o => o.Code.Length = length);

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:Length*");
    }

    [Fact]
    public void Value_CodeMaxAttemptsZero_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Code.MaxAttempts = 0);

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:MaxAttempts*");
    }

    [Fact]
    public void Value_ResendMaxPerHourZero_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Resend.MaxPerHour = 0);

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Resend:MaxPerHour*");
    }

    [Fact]
    public void Value_MaxLimitRecordsZero_FailsNamingTheKey()
    {
        var act = () => Resolve(o => (o.MaxPendingEntries, o.MaxLimitRecords) = (1, 0));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:MaxLimitRecords*");
    }

    [Fact]
    public void Value_MaxPendingEntriesRaisedAlone_IsValidAndRaisesTheLimitRecords()
    {
        var options = Resolve(o => o.MaxPendingEntries = 1_000_000);

        options.LimitRecordsCap.Should().Be(8_000_000);
    }

    [Fact]
    public void Value_MaxLimitRecordsBelowMaxPendingEntries_FailsNamingBothKeysAndValues()
    {
        var act = () => Resolve(o => (o.MaxPendingEntries, o.MaxLimitRecords) = (1000, 999));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:MaxLimitRecords ('999')*OtpSignup:MaxPendingEntries ('1000')*");
    }

    [Fact]
    public void Value_EmptyAppName_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Messages.AppName = "");

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Messages:AppName*");
    }

    [Fact]
    public void Value_NegativeCodeLifetime_FailsNamingTheKeyAndValue()
    {
        var act = () => Resolve(o => o.Code.Lifetime = TimeSpan.FromMinutes(-5));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:Lifetime*-00:05:00*");
    }

    [Fact]
    public void Value_NegativePendingLifetime_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.PendingLifetime = TimeSpan.FromMinutes(-1));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:PendingLifetime*");
    }

    [Fact]
    public void Value_CodeLifetimeLongerThanPendingLifetime_FailsNamingBothKeys()
    {
        var act = () => Resolve(o => (o.Code.Lifetime, o.PendingLifetime) = (TimeSpan.FromMinutes(40), TimeSpan.FromMinutes(30)));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:Lifetime*OtpSignup:PendingLifetime*");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    public void Value_CooldownNotShorterThanLifetime_FailsNamingTheKey(int cooldownMinutes)
    {
        var act = () => Resolve(o => o.Resend.Cooldown = TimeSpan.FromMinutes(cooldownMinutes));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Resend:Cooldown*");
    }

    [Fact]
    public void Value_NegativeCooldown_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Resend.Cooldown = TimeSpan.FromSeconds(-1));

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Resend:Cooldown*");
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void Value_BadHashKey_FailsNamingTheKey(string key)
    {
        var act = () => Resolve(o => o.Code.HashKey = key);

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:HashKey*");
    }

    [Fact]
    public void Value_BadHashKey_DoesNotEchoTheSecret()
    {
        const string secret = "c2VjcmV0LWJ1dC1zaG9ydA==";

        var act = () => Resolve(o => o.Code.HashKey = secret);

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().NotContain(secret);
    }

    [Fact]
    public void Value_UnknownCulture_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Messages.Culture = "xx-NOT-A-CULTURE");

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Messages:Culture*");
    }

    [Fact]
    public void Value_UnknownStore_FailsNamingTheKey()
    {
        var act = () => Resolve(o => o.Store = "Cassandra");

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Store*");
    }

    [Fact]
    public void Value_SeveralBadValues_ReportsEveryFailure()
    {
        var act = () => Resolve(o => (o.Code.Length, o.Resend.MaxPerHour, o.Code.Lifetime) = (3, 0, TimeSpan.FromMinutes(-1)));

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().HaveCountGreaterThanOrEqualTo(3);
    }

    [Fact]
    public void StartupValidator_CodeLengthThreeFromConfiguration_FailsNamingTheKey()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["OtpSignup:Code:Length"] = "3" })
            .Build();
        var services = new ServiceCollection();
        services.AddOtpVerification(o => configuration.GetSection(OtpVerificationOptions.LegacySectionName).Bind(o));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:Length*");
    }

    [Fact]
    public void StartupValidator_NestedResendFromConfiguration_IsValidatedToo()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["OtpSignup:Resend:MaxPerHour"] = "0" })
            .Build();
        var services = new ServiceCollection();
        services.AddOtpVerification(o => configuration.GetSection(OtpVerificationOptions.LegacySectionName).Bind(o));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Resend:MaxPerHour*");
    }

    [Fact]
    public void AddOtpVerification_CalledTwice_ValidatesOnce()
    {
        var services = new ServiceCollection();
        services.AddOtpVerification(o => o.Code.Length = 3);
        services.AddOtpVerification();
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<OtpVerificationOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle(f => f.Contains("OtpSignup:Code:Length", StringComparison.Ordinal));
    }

    // Key rotation (issue 19).
    private static readonly string OtherKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void Value_BadHashKey_SaysHowToMakeOne()
    {
        var act = () => Resolve(o => o.Code.HashKey = "c2hvcnQ=");

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:HashKey must be base64 of at least 32 bytes*openssl rand -base64 32*");
    }

    [Fact]
    public void Value_EmptyHashKey_IsTreatedAsUnset()
    {
        var act = () => Resolve(o => o.Code.HashKey = string.Empty);

        act.Should().NotThrow();
    }

    [Fact]
    public void Value_RotationWithAllThreeKeys_IsAccepted()
    {
        var act = () => Resolve(o =>
        {
            o.Code.HashKey = OtherKey;
            o.Code.PreviousHashKey = ValidKey;
            o.Code.KeyNameKey = ValidKey;
        });

        act.Should().NotThrow();
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void Value_BadPreviousHashKey_FailsNamingTheKey(string key)
    {
        var act = () => Resolve(o =>
        {
            o.Code.HashKey = OtherKey;
            o.Code.PreviousHashKey = key;
            o.Code.KeyNameKey = ValidKey;
        });

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:PreviousHashKey must be base64 of at least 32 bytes*").Which.Message.Should().NotContain(key);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void Value_BadKeyNameKey_FailsNamingTheKey(string key)
    {
        var act = () => Resolve(o => o.Code.KeyNameKey = key);

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:KeyNameKey must be base64 of at least 32 bytes*").Which.Message.Should().NotContain(key);
    }

    [Fact]
    public void Value_PreviousHashKeyWithoutHashKey_FailsNamingBoth()
    {
        var act = () => Resolve(o =>
        {
            o.Code.PreviousHashKey = ValidKey;
            o.Code.KeyNameKey = ValidKey;
        });

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:PreviousHashKey is set but OtpSignup:Code:HashKey is not*");
    }

    [Fact]
    public void Value_PreviousHashKeySameAsHashKey_Fails()
    {
        var act = () => Resolve(o =>
        {
            o.Code.HashKey = ValidKey;
            o.Code.PreviousHashKey = ValidKey;
            o.Code.KeyNameKey = ValidKey;
        });

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:PreviousHashKey is the same key as OtpSignup:Code:HashKey*");
    }

    [Fact]
    public void Value_PreviousHashKeyWithoutKeyNameKey_FailsNamingKeyNameKey()
    {
        var act = () => Resolve(o =>
        {
            o.Code.HashKey = OtherKey;
            o.Code.PreviousHashKey = ValidKey;
        });

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:KeyNameKey is not*unreachable*");
    }

    private static OtpVerificationOptions Resolve(Action<OtpVerificationOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddOtpVerification(configure);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<OtpVerificationOptions>>().Value;
    }
}
