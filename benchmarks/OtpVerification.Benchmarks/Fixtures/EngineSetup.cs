using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OtpVerification.AspNetCore;
using OtpVerification.Diagnostics;
using OtpVerification.Senders;
using OtpVerification.Stores;

namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>
/// Builds an engine the way the micro benchmarks measure it: a sender that does no work, no
/// logging provider, no metrics listener, no per-client gate (requests carry no client key), and
/// limits high enough that only the cooldown of a recycled address could refuse a start.
/// </summary>
internal static class EngineSetup
{
    /// <summary>How far the clock jumps when an address pool wraps: past the cooldown and the hourly window.</summary>
    public static readonly TimeSpan PoolWrapJump = TimeSpan.FromMinutes(61);

    public static OtpVerificationOptions Options() => new()
    {
        Resend = new OtpResendOptions { Cooldown = TimeSpan.FromMinutes(1), MaxPerHour = 1000 },
        Abuse = new OtpAbuseOptions { MaxSendsPerClientPerHour = 0, MaxSmsPerHour = 0, EqualizeResponseTimes = false },
        MaxPendingEntries = 50_000_000,
        MaxLimitRecords = 400_000_000,
    };

    public static OtpEngine Create(IPendingRegistrationStore store, TimeProvider clock, IOtpSender? sender = null, OtpVerificationOptions? options = null) => new(
        store,
        new RandomOtpCodeGenerator(),
        new HmacOtpCodeHasher(new byte[32]),
        [sender ?? new NullOtpSender()],
        new FixedOptionsMonitor<OtpVerificationOptions>(options ?? Options()),
        clock,
        new OtpMetrics(),
        NullLogger<OtpEngine>.Instance);

    /// <summary>An address that is unique per index: <c>user0000042@example.com</c>.</summary>
    public static string Address(string prefix, int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}{index:D7}@example.com");

    public static OtpStartRequest StartRequest(string address, byte[] payload, string? deviceId = null) => new()
    {
        Purpose = OtpPurpose.Signup,
        Address = address,
        Destinations = [new OtpDestination(OtpChannel.Email, address)],
        DeviceId = deviceId,
        Payload = payload,
    };

    /// <summary>The typical signup form, protected once with a Data Protection key ring in a temporary directory.</summary>
    public static byte[] ProtectedTypicalForm()
    {
        using var protection = PayloadProtection.Create();
        return protection.Protector.Protect(OtpPurpose.Signup, SignupForm.Typical);
    }
}

/// <summary>An <see cref="OtpPayloadProtector"/> over a real Data Protection key ring persisted in a temporary directory.</summary>
internal sealed class PayloadProtection : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _keyDirectory;

    private PayloadProtection(ServiceProvider services, string keyDirectory, OtpPayloadProtector protector)
    {
        _services = services;
        _keyDirectory = keyDirectory;
        Protector = protector;
    }

    public OtpPayloadProtector Protector { get; }

    public Microsoft.AspNetCore.DataProtection.IDataProtectionProvider Provider => _services.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>();

    public static PayloadProtection Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "otp-bench-keys-" + Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection();
        services.AddDataProtection().SetApplicationName("OtpVerification.Benchmarks").PersistKeysToFileSystem(new DirectoryInfo(directory));
        var provider = services.BuildServiceProvider();
        var protector = new OtpPayloadProtector(provider.GetRequiredService<IDataProtectionProvider>());
        return new PayloadProtection(provider, directory, protector);
    }

    public void Dispose()
    {
        _services.Dispose();
        try
        {
            Directory.Delete(_keyDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
