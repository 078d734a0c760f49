using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace OtpVerification.AspNetCore.Tests.Configuration;

/// <summary>
/// <c>AddOtpSignup&lt;TForm&gt;(builder.Configuration)</c> binds the <c>OtpVerification</c> section and its
/// former name <c>OtpSignup</c> (the contract's keys): the new name wins key by key, and a
/// start-up error names the key under the section the app used.
/// </summary>
public sealed class OptionsSectionCompatibilityTests
{
    [Fact]
    public void Bind_OldSectionOnly_TakesItsValues()
    {
        var options = Options(("OtpSignup:Code:Length", "8"), ("OtpSignup:Resend:MaxPerHour", "3"));

        options.Code.Length.Should().Be(8);
        options.Resend.MaxPerHour.Should().Be(3);
    }

    [Fact]
    public void Bind_NewSectionOnly_TakesItsValues()
    {
        var options = Options(("OtpVerification:Code:Length", "7"));

        options.Code.Length.Should().Be(7);
    }

    [Fact]
    public void Bind_BothSections_NewNameWinsPerKeyAndOldKeysStillApply()
    {
        var options = Options(("OtpSignup:Code:Length", "8"), ("OtpVerification:Code:Length", "7"), ("OtpSignup:Code:MaxAttempts", "3"));

        options.Code.Length.Should().Be(7);
        options.Code.MaxAttempts.Should().Be(3);
    }

    [Fact]
    public void Validate_BadValueThroughOldSection_MessageNamesTheOldKey()
    {
        var act = () => Options(("OtpSignup:Code:Length", "3"));

        act.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("OtpSignup:Code:Length").And.NotContain("OtpVerification:");
    }

    [Fact]
    public void Validate_BadValueThroughNewSection_MessageNamesTheNewKey()
    {
        var act = () => Options(("OtpVerification:Code:Length", "3"));

        act.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("OtpVerification:Code:Length").And.NotContain("OtpSignup:");
    }

    [Fact]
    public void Validate_CrossFieldRuleThroughNewSection_MessageNamesTheNewKeys()
    {
        var act = () => Options(("OtpVerification:Code:Lifetime", "01:00:00"), ("OtpVerification:PendingLifetime", "00:30:00"));

        act.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("OtpVerification:Code:Lifetime").And.Contain("OtpVerification:PendingLifetime").And.NotContain("OtpSignup:");
    }

    [Fact]
    public void Validate_CrossFieldRuleThroughOldSection_MessageNamesTheOldKeys()
    {
        var act = () => Options(("OtpSignup:Code:Lifetime", "01:00:00"), ("OtpSignup:PendingLifetime", "00:30:00"));

        act.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("OtpSignup:Code:Lifetime").And.Contain("OtpSignup:PendingLifetime");
    }

    [Fact]
    public void Bind_ASectionPassed_BindsOnlyItAndNamesItsPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Auth:Otp:Code:Length", "3"), new("OtpSignup:Code:Length", "8")]).Build();

        var act = () => Options(configuration.GetSection("Auth:Otp"));

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Auth:Otp:Code:Length");
    }

    private static OtpVerificationOptions Options(params (string Key, string Value)[] settings)
        => Options(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    private static OtpVerificationOptions Options(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpSignup<OtpSignupForm>(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<OtpVerificationOptions>>().Value;
    }
}
