using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.Testing;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// Issue 19, SECURITY.md "Running more than one instance": with a store shared by several
/// instances the sample refuses to start without <c>OtpSignup:Code:HashKey</c>, and warns at
/// start-up when the Data Protection key ring is not persisted to a shared place or has no
/// application name. The shared store is an in-memory one that says it is shared
/// (<see cref="SharedStore"/>); the Redis tests run the same checks on a real redis-server.
/// </summary>
public sealed class SharedSecretsStartupTests : IDisposable
{
    private const string KeyRingWarning = "[OtpKeyRingNotShared]";
    private const string ApplicationNameWarning = "[OtpApplicationNameNotSet]";
    private readonly string _keyRing = Path.Combine(Path.GetTempPath(), $"otp-keys-{Guid.NewGuid():N}");

    [Fact]
    public async Task Start_SharedStoreWithoutHashKey_RefusesToStartNamingTheKey()
    {
        await using var app = new SampleAppFactory().WithStore(SharedStore.Over());

        var act = () => app.CreateClient();

        act.Should().Throw<Exception>().Which.ToString().Should().Contain("OtpSignup:Code:HashKey is not set").And.Contain("openssl rand -base64 32");
    }

    [Fact]
    public async Task Start_InMemoryStoreWithoutHashKey_Starts()
    {
        await using var app = new SampleAppFactory();

        var act = () => app.CreateClient();

        act.Should().NotThrow("one process may draw its own key");
    }

    [Fact]
    public async Task Start_SharedStoreAndEphemeralKeyRing_WarnsNamingPersistKeysToAndSetApplicationName()
    {
        await using var app = SharedApp();

        app.CreateClient().Dispose();

        app.Logs!.Entries.Should().ContainSingle(e => e.Contains(KeyRingWarning, StringComparison.Ordinal))
            .Which.Should().StartWith("Warning").And.Contain("PersistKeysTo").And.Contain("SetApplicationName");
    }

    [Fact]
    public async Task Start_SharedStoreAndSharedKeyRingWithApplicationName_LogsNoKeyRingWarning()
    {
        Directory.CreateDirectory(_keyRing);
        await using var app = SharedApp().WithSetting("DataProtection:KeysPath", _keyRing);

        app.CreateClient().Dispose();

        app.Logs!.Entries.Should().NotContain(e => e.Contains(KeyRingWarning, StringComparison.Ordinal) || e.Contains(ApplicationNameWarning, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_SharedStoreAndKeyRingWithoutApplicationName_WarnsNamingSetApplicationName()
    {
        Directory.CreateDirectory(_keyRing);
        await using var app = SharedApp().WithSetting("DataProtection:KeysPath", _keyRing)
            .WithServices(services => services.AddOptions<DataProtectionOptions>().PostConfigure<IHostEnvironment>((o, env) => o.ApplicationDiscriminator = env.ContentRootPath));

        app.CreateClient().Dispose();

        app.Logs!.Entries.Should().ContainSingle(e => e.Contains(ApplicationNameWarning, StringComparison.Ordinal))
            .Which.Should().StartWith("Warning").And.Contain("SetApplicationName");
    }

    [Fact]
    public void IsKeyRingShared_KeysPersistedToTheDefaultPerMachineDirectory_IsFalse()
    {
        // Checked on the services alone: starting a host would write a key to this machine's directory.
        var services = new ServiceCollection();
        services.AddDataProtection().PersistKeysToFileSystem(FileSystemXmlRepository.DefaultKeyStorageDirectory!);
        using var provider = services.BuildServiceProvider();

        SharedKeyRingCheck.IsKeyRingShared(provider).Should().BeFalse();
    }

    [Fact]
    public void IsKeyRingShared_NoRepositoryConfigured_IsFalse()
    {
        var services = new ServiceCollection();
        services.AddDataProtection();
        using var provider = services.BuildServiceProvider();

        SharedKeyRingCheck.IsKeyRingShared(provider).Should().BeFalse();
    }

    [Fact]
    public void IsKeyRingShared_KeysPersistedToAnotherDirectory_IsTrue()
    {
        var services = new ServiceCollection();
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(_keyRing));
        using var provider = services.BuildServiceProvider();

        SharedKeyRingCheck.IsKeyRingShared(provider).Should().BeTrue();
    }

    [Fact]
    public async Task Start_InMemoryStoreAndEphemeralKeyRing_LogsNoKeyRingWarning()
    {
        await using var app = new SampleAppFactory().WithLogCapture();

        app.CreateClient().Dispose();

        app.Logs!.Entries.Should().NotContain(e => e.Contains(KeyRingWarning, StringComparison.Ordinal) || e.Contains(ApplicationNameWarning, StringComparison.Ordinal), "one process has one key ring");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(_keyRing))
        {
            Directory.Delete(_keyRing, recursive: true);
        }
    }

    private static SampleAppFactory SharedApp()
        => new SampleAppFactory().WithLogCapture().WithStore(SharedStore.Over()).WithSetting("OtpSignup:Code:HashKey", TwoInstances.NewHashKey());
}
