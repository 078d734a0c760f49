using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OtpVerification.Senders;
using OtpVerification.Stores;
using OtpVerification.Testing;
using Microsoft.Extensions.Time.Testing;

namespace OtpVerification.Core.Tests.Engine;

/// <summary>The engine as an app gets it from <c>AddOtpVerification</c>, on a manual clock, with recording senders.</summary>
internal sealed class EngineHarness : IDisposable
{
    public const string Address = "ana@example.com";
    public const string Phone = "+14155550123";

    private readonly ServiceProvider _services;

    public EngineHarness(Action<OtpVerificationOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        collection.AddOtpVerification(configure);
        collection.Replace(ServiceDescriptor.Singleton<TimeProvider>(Time));
        collection.AddSingleton<IOtpSender>(Email);
        collection.AddSingleton<IOtpSender>(Sms);
        services?.Invoke(collection);
        _services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Engine = _services.GetRequiredService<OtpEngine>();
        Store = _services.GetRequiredService<IPendingRegistrationStore>();
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public RecordingSender Email { get; } = new(OtpChannel.Email);

    public RecordingSender Sms { get; } = new(OtpChannel.Sms);

    public CapturingLoggerProvider Logs { get; } = new();

    public OtpEngine Engine { get; }

    public IPendingRegistrationStore Store { get; }

    public IServiceProvider Services => _services;

    /// <summary>The flow id of the last accepted start through <see cref="StartAsync"/> or <see cref="StartWithAsync"/>.</summary>
    public string? FlowId { get; private set; }

    public static OtpStartRequest Request(OtpPurpose purpose = OtpPurpose.Signup, string? deviceId = null, bool decoy = false, bool withPhone = false) => new()
    {
        Purpose = purpose,
        Address = Address,
        Destinations = withPhone
            ? [new OtpDestination(OtpChannel.Email, Address), new OtpDestination(OtpChannel.Sms, Phone)]
            : [new OtpDestination(OtpChannel.Email, Address)],
        DeviceId = deviceId,
        Payload = [42, 7],
        Decoy = decoy,
    };

    public ValueTask<OtpSendResult> StartAsync(OtpPurpose purpose = OtpPurpose.Signup, string? deviceId = null)
        => StartWithAsync(Request(purpose, deviceId));

    /// <summary>Starts with <paramref name="request"/> and remembers the flow id when it is accepted.</summary>
    public async ValueTask<OtpSendResult> StartWithAsync(OtpStartRequest request)
    {
        var result = await Engine.StartAsync(request);
        if (result.Outcome == OtpOutcome.Accepted && result.FlowId is not null)
        {
            FlowId = result.FlowId;
        }

        return result;
    }

    /// <summary>Verifies at <see cref="Address"/> for <paramref name="flowId"/>, or the last started flow.</summary>
    public ValueTask<OtpVerifyResult> VerifyAsync(string code, OtpPurpose purpose = OtpPurpose.Signup, string? deviceId = null, string? flowId = null)
        => Engine.VerifyAsync(purpose, Address, flowId ?? FlowId ?? "no-flow", code, deviceId);

    public ValueTask<OtpSendResult> ResendAsync(OtpPurpose purpose = OtpPurpose.Signup)
        => Engine.ResendAsync(purpose, Address);

    /// <summary>A code of the right shape that is not <paramref name="code"/>.</summary>
    public static string WrongCode(string code) => WrongCode(code, 1);

    /// <summary>The <paramref name="offset"/>-th wrong code: every digit moved by it (1 to 9), so offsets give different codes.</summary>
    public static string WrongCode(string code, int offset) => string.Concat(code.Select(c => (char)('0' + ((c - '0' + offset) % 10))));

    public void Dispose() => _services.Dispose();
}
