using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using OtpVerification.Senders;
using OtpVerification.Testing;

namespace OtpVerification.Core.Tests.Senders;

/// <summary>Hole 5: outside Development the development outbox does not exist, and an app without an email sender does not start.</summary>
public sealed class DevOutboxEnvironmentTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public void ForEnvironment_OutsideDevelopment_IsNull(string environment)
    {
        using var services = Services(environment);

        DevOutboxSender.ForEnvironment(services, OtpChannel.Email).Should().BeNull();
    }

    [Fact]
    public void ForEnvironment_Development_IsASenderForTheChannel()
    {
        using var services = Services(Environments.Development);

        DevOutboxSender.ForEnvironment(services, OtpChannel.Sms)!.Channel.Should().Be(OtpChannel.Sms);
    }

    [Fact]
    public void ForEnvironment_NoHostEnvironment_IsASender()
    {
        using var services = Services(environment: null);

        DevOutboxSender.ForEnvironment(services, OtpChannel.Email).Should().NotBeNull();
    }

    [Fact]
    public void HasSender_ProductionWithoutSenders_IsFalseForEveryChannel()
    {
        using var services = Services(Environments.Production);
        var engine = services.GetRequiredService<OtpEngine>();

        new[] { engine.HasSender(OtpChannel.Email), engine.HasSender(OtpChannel.Sms) }.Should().Equal(false, false);
    }

    [Fact]
    public void HasSender_DevelopmentWithoutSenders_UsesTheOutboxForEveryChannel()
    {
        using var services = Services(Environments.Development);
        var engine = services.GetRequiredService<OtpEngine>();

        new[] { engine.HasSender(OtpChannel.Email), engine.HasSender(OtpChannel.Sms) }.Should().Equal(true, true);
    }

    [Fact]
    public void HasSender_ProductionWithOnlyAnEmailSender_OffersNoSms()
    {
        using var services = Services(Environments.Production, s => s.AddSingleton<IOtpSender>(new RecordingSender(OtpChannel.Email)));
        var engine = services.GetRequiredService<OtpEngine>();

        new[] { engine.HasSender(OtpChannel.Email), engine.HasSender(OtpChannel.Sms) }.Should().Equal(true, false);
    }

    [Fact]
    public async Task StartupCheck_ProductionWithoutAnEmailSender_ThrowsNamingSmtpHost()
    {
        using var services = Services(Environments.Production, s => s.AddSingleton<IOtpSender>(new RecordingSender(OtpChannel.Sms)));

        var act = () => StartHostedServicesAsync(services);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("Smtp:Host");
    }

    [Fact]
    public async Task StartupCheck_ProductionWithAnEmailSender_Starts()
    {
        using var services = Services(Environments.Production, s => s.AddSingleton<IOtpSender>(new RecordingSender(OtpChannel.Email)));

        var act = () => StartHostedServicesAsync(services);

        await act.Should().NotThrowAsync();
    }

    [Fact]
    public async Task StartupCheck_DevelopmentWithoutSenders_StartsOnTheOutbox()
    {
        using var services = Services(Environments.Development);

        var act = () => StartHostedServicesAsync(services);

        await act.Should().NotThrowAsync();
    }

    private static async Task StartHostedServicesAsync(IServiceProvider services)
    {
        foreach (var hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    private static ServiceProvider Services(string? environment, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (environment is not null)
        {
            services.AddSingleton<IHostEnvironment>(new TestEnvironment(environment));
        }

        services.AddOtpVerification(o => o.Code.Length = 6);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private sealed class TestEnvironment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "OtpVerification.Core.Tests";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
