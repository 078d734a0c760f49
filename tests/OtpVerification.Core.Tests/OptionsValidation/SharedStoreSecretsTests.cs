using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtpVerification.Stores;
using OtpVerification.Testing;

namespace OtpVerification.Core.Tests.OptionsValidation;

/// <summary>Issue 19: a store shared by several instances needs OtpSignup:Code:HashKey, checked when the host starts.</summary>
public sealed class SharedStoreSecretsTests
{
    private static readonly string ValidKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void StartupValidation_SharedStoreWithoutHashKey_FailsNamingTheKeyAndHowToMakeOne()
    {
        using var provider = Build(_ => { }, SharedStore.Over());

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>()
            .WithMessage("*OtpSignup:Code:HashKey is not set*shared by every instance*openssl rand -base64 32*");
    }

    [Fact]
    public void StartupValidation_SharedStoreWithWhiteSpaceHashKey_FailsAsUnset()
    {
        using var provider = Build(o => o.Code.HashKey = "  ", SharedStore.Over());

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*OtpSignup:Code:HashKey is not set*");
    }

    [Fact]
    public void StartupValidation_SharedStoreWithHashKey_Passes()
    {
        using var provider = Build(o => o.Code.HashKey = ValidKey, SharedStore.Over());

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow();
    }

    [Fact]
    public void StartupValidation_InMemoryStoreWithoutHashKey_PassesWithARandomKey()
    {
        using var provider = Build(_ => { }, store: null);

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow();
    }

    [Fact]
    public void StartupValidation_SharedStoreWithTheAppsOwnHasher_Passes()
    {
        using var provider = Build(_ => { }, SharedStore.Over(), services => services.Replace(ServiceDescriptor.Singleton<IOtpCodeHasher>(new HmacOtpCodeHasher(new byte[32]))));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow("a hasher built with an explicit key is as shared as the app makes it");
    }

    [Fact]
    public void StartupValidation_SharedStoreWithABadHashKey_ReportsTheBadKeyNotAMissingOne()
    {
        using var provider = Build(o => o.Code.HashKey = "c2hvcnQ=", SharedStore.Over());

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<Exception>().Which.ToString().Should()
            .Contain("OtpSignup:Code:HashKey must be base64 of at least 32 bytes").And.NotContain("is not set");
    }

    [Fact]
    public void StartupValidation_StoreThatCannotBeBuilt_LeavesTheReportToItsOwnValidation()
    {
        using var provider = Build(_ => { }, store: null, services => services.Replace(ServiceDescriptor.Singleton<IPendingRegistrationStore>(_ => throw new InvalidOperationException("no store"))));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().NotThrow();
    }

    private static ServiceProvider Build(Action<OtpVerificationOptions> configure, IPendingRegistrationStore? store, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification(configure);
        if (store is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(store));
        }

        more?.Invoke(services);
        return services.BuildServiceProvider();
    }
}
