using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpVerification.Senders;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class SmtpSenderRegistrationTests
{
    [Fact]
    public void AddSmtpSender_Configuration_BindsEveryKey()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddSmtpSender(Section(new()
        {
            ["Smtp:Host"] = "smtp.example.test",
            ["Smtp:Port"] = "587",
            ["Smtp:From"] = "no-reply@example.test",
            ["Smtp:FromName"] = "Example",
            ["Smtp:EnableSsl"] = "true",
            ["Smtp:UserName"] = "user",
            ["Smtp:Password"] = "secret",
            ["Smtp:Timeout"] = "00:00:05",
        })));

        services.GetRequiredService<IOptions<SmtpSenderOptions>>().Value.Should().BeEquivalentTo(new SmtpSenderOptions
        {
            Host = "smtp.example.test",
            Port = 587,
            From = "no-reply@example.test",
            FromName = "Example",
            EnableSsl = true,
            UserName = "user",
            Password = "secret",
            Timeout = TimeSpan.FromSeconds(5),
        });
    }

    [Fact]
    public void AddSmtpSender_Defaults_Port25NoSslTenSeconds()
    {
        var options = new SmtpSenderOptions();

        new { options.Port, options.EnableSsl, options.Timeout }.Should().Be(new { Port = 25, EnableSsl = false, Timeout = TimeSpan.FromSeconds(10) });
    }

    [Fact]
    public void AddSmtpSender_CalledTwice_RegistersOneEmailSenderThatWins()
    {
        using var services = SenderTestKit.BuildServices(b => b
            .AddSmtpSender(o => { o.Host = "localhost"; o.From = "a@example.test"; })
            .AddSmtpSender(o => o.Port = 2525));

        services.GetServices<IOtpSender>().Where(s => s.Channel == OtpChannel.Email).Select(s => s.GetType())
            .Should().Equal(typeof(DevOutboxSender), typeof(SmtpOtpSender));
    }

    [Theory]
    [InlineData(null, "no-reply@example.test", 25, "Smtp:Host is required")]
    [InlineData("smtp.example.test", null, 25, "Smtp:From is required")]
    [InlineData("smtp.example.test", "not an address", 25, "Smtp:From 'not an address' is not a valid email address")]
    [InlineData("smtp.example.test", "Example <no-reply@example.test>", 25, "Smtp:From 'Example <no-reply@example.test>' is not a valid email address")]
    [InlineData("smtp.example.test", "no-reply@example.test", 0, "Smtp:Port 0 is out of range")]
    [InlineData("smtp.example.test", "no-reply@example.test", 70000, "Smtp:Port 70000 is out of range")]
    [InlineData("smtp.example.test", "no-reply@example.test", 465, "Smtp:Port 465 (implicit TLS) is not supported")]
    public void ValidateOnStart_BadSetting_FailsNamingTheKey(string? host, string? from, int port, string expected)
    {
        var settings = new Dictionary<string, string?> { ["Smtp:Host"] = host, ["Smtp:From"] = from, ["Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        using var services = SenderTestKit.BuildServices(b => b.AddSmtpSender(Section(settings)));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateOnStart_PasswordWithoutUserName_FailsWithoutEchoingPassword()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddSmtpSender(o =>
        {
            o.Host = "smtp.example.test";
            o.From = "no-reply@example.test";
            o.Password = "pa55-Secret-word";
        }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("Smtp:UserName is required when Smtp:Password is set").And.NotContain("pa55-Secret-word");
    }

    [Fact]
    public void ValidateOnStart_CustomSectionPath_NamesThatPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Mail:Smtp:From"] = "no-reply@example.test" }).Build();
        using var services = SenderTestKit.BuildServices(b => b.AddSmtpSender(configuration.GetSection("Mail:Smtp")));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.StartsWith("Mail:Smtp:Host is required", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateOnStart_ValidSettings_Succeeds()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddSmtpSender(o => { o.Host = "smtp.example.test"; o.From = "no-reply@example.test"; }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().NotThrow();
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Smtp");
}
