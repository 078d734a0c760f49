using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpVerification.MailKit.Tests.Infrastructure;
using OtpVerification.Senders;

namespace OtpVerification.MailKit.Tests.Registration;

public sealed class MailKitSenderRegistrationTests
{
    [Fact]
    public void AddMailKitSender_Configuration_BindsEveryKey()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(Section(new()
        {
            ["Smtp:Host"] = "smtp.example.test",
            ["Smtp:Port"] = "465",
            ["Smtp:Security"] = "SslOnConnect",
            ["Smtp:From"] = "no-reply@example.test",
            ["Smtp:FromName"] = "Example",
            ["Smtp:UserName"] = "user",
            ["Smtp:Password"] = "secret",
            ["Smtp:Timeout"] = "00:00:05",
            ["Smtp:KeepAlive"] = "00:02:00",
        })));

        services.GetRequiredService<IOptions<MailKitSenderOptions>>().Value.Should().BeEquivalentTo(new MailKitSenderOptions
        {
            Host = "smtp.example.test",
            Port = 465,
            Security = SmtpSecurity.SslOnConnect,
            From = "no-reply@example.test",
            FromName = "Example",
            UserName = "user",
            Password = "secret",
            Timeout = TimeSpan.FromSeconds(5),
            KeepAlive = TimeSpan.FromMinutes(2),
        });
    }

    [Fact]
    public void MailKitSenderOptions_Defaults_StartTlsPort25TenSecondsOneMinuteKeepAlive()
    {
        var options = new MailKitSenderOptions();

        new { options.EffectiveSecurity, options.EffectivePort, options.Timeout, options.KeepAlive }
            .Should().Be(new { EffectiveSecurity = SmtpSecurity.StartTls, EffectivePort = 25, Timeout = TimeSpan.FromSeconds(10), KeepAlive = TimeSpan.FromMinutes(1) });
    }

    [Fact]
    public void MailKitSenderOptions_SslOnConnectWithoutPort_UsesPort465()
    {
        var options = new MailKitSenderOptions { Security = SmtpSecurity.SslOnConnect };

        options.EffectivePort.Should().Be(465);
    }

    [Theory]
    [InlineData("true", SmtpSecurity.StartTls)]
    [InlineData("false", SmtpSecurity.None)]
    public void AddMailKitSender_OldEnableSslKey_MapsToSecurity(string enableSsl, SmtpSecurity expected)
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(Section(new()
        {
            ["Smtp:Host"] = "smtp.example.test",
            ["Smtp:From"] = "no-reply@example.test",
            ["Smtp:EnableSsl"] = enableSsl,
        })));

        services.GetRequiredService<IOptions<MailKitSenderOptions>>().Value.EffectiveSecurity.Should().Be(expected);
    }

    [Fact]
    public void AddMailKitSender_CalledTwice_RegistersOneEmailSenderThatWins()
    {
        using var services = SenderTestKit.BuildServices(b => b
            .AddMailKitSender(o => { o.Host = "localhost"; o.From = "a@example.test"; })
            .AddMailKitSender(o => o.Port = 2525));

        services.GetServices<IOtpSender>().Where(s => s.Channel == OtpChannel.Email).Select(s => s.GetType())
            .Should().Equal(typeof(DevOutboxSender), typeof(MailKitOtpSender));
    }

    [Fact]
    public void AddMailKitSender_CalledTwice_AppliesBothConfigurations()
    {
        using var services = SenderTestKit.BuildServices(b => b
            .AddMailKitSender(o => { o.Host = "localhost"; o.From = "a@example.test"; })
            .AddMailKitSender(o => o.Port = 2525));

        var options = services.GetRequiredService<IOptions<MailKitSenderOptions>>().Value;
        new { options.Host, options.Port }.Should().Be(new { Host = (string?)"localhost", Port = (int?)2525 });
    }

    [Theory]
    [InlineData(null, "no-reply@example.test", "25", null, null, "Smtp:Host is required")]
    [InlineData("smtp.example.test", null, "25", null, null, "Smtp:From is required")]
    [InlineData("smtp.example.test", "not an address", "25", null, null, "Smtp:From 'not an address' is not a valid email address")]
    [InlineData("smtp.example.test", "Example <no-reply@example.test>", "25", null, null, "Smtp:From 'Example <no-reply@example.test>' is not a valid email address")]
    [InlineData("smtp.example.test", "no-reply@example.test", "0", null, null, "Smtp:Port 0 is out of range")]
    [InlineData("smtp.example.test", "no-reply@example.test", "70000", null, null, "Smtp:Port 70000 is out of range")]
    [InlineData("smtp.example.test", "no-reply@example.test", "465", null, null, "Smtp:Port 465 expects implicit TLS")]
    [InlineData("smtp.example.test", "no-reply@example.test", "587", "None", "true", "Smtp:EnableSsl=true contradicts Smtp:Security=None")]
    [InlineData("smtp.example.test", "no-reply@example.test", "587", "StartTls", "false", "Smtp:EnableSsl=false contradicts Smtp:Security=StartTls")]
    public void ValidateOnStart_BadSetting_FailsNamingTheKey(string? host, string? from, string port, string? security, string? enableSsl, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Smtp:Host"] = host,
            ["Smtp:From"] = from,
            ["Smtp:Port"] = port,
            ["Smtp:Security"] = security,
            ["Smtp:EnableSsl"] = enableSsl,
        };
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(Section(settings)));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateOnStart_UnknownSecurity_FailsNamingTheKey()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o =>
        {
            o.Host = "smtp.example.test";
            o.From = "no-reply@example.test";
            o.Security = (SmtpSecurity)42;
        }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Smtp:Security '42' is not one of");
    }

    [Fact]
    public void ValidateOnStart_PasswordWithoutUserName_FailsWithoutEchoingPassword()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o =>
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
    public void ValidateOnStart_TokenProviderWithoutUserName_FailsNamingUserName()
    {
        using var services = SenderTestKit.BuildServices(b =>
        {
            b.Services.AddSingleton<ISmtpAccessTokenProvider, NoTokens>();
            b.AddMailKitSender(o => { o.Host = "smtp.example.test"; o.From = "no-reply@example.test"; });
        });

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Smtp:UserName is required with OAuth2");
    }

    [Fact]
    public void ValidateOnStart_TokenProviderAndUserName_Succeeds()
    {
        using var services = SenderTestKit.BuildServices(b =>
        {
            b.AddMailKitSender(o => { o.Host = "smtp.office365.com"; o.Port = 587; o.From = "no-reply@example.test"; o.UserName = "no-reply@example.test"; });
            b.Services.AddSingleton<ISmtpAccessTokenProvider, NoTokens>();
        });

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().NotThrow();
    }

    [Fact]
    public void ValidateOnStart_CustomSectionPath_NamesThatPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Mail:Smtp:From"] = "no-reply@example.test" }).Build();
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(configuration.GetSection("Mail:Smtp")));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.StartsWith("Mail:Smtp:Host is required", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateOnStart_NegativeKeepAlive_FailsNamingTheKey()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o =>
        {
            o.Host = "smtp.example.test";
            o.From = "no-reply@example.test";
            o.KeepAlive = TimeSpan.FromSeconds(-1);
        }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Smtp:KeepAlive");
    }

    [Fact]
    public void ValidateOnStart_ValidSettings_Succeeds()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddMailKitSender(o => { o.Host = "smtp.example.test"; o.From = "no-reply@example.test"; }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().NotThrow();
    }

    [Fact]
    public void Describe_SmtpCommandException_NamesErrorAndStatusButNotTheServerText()
    {
        var ex = new global::MailKit.Net.Smtp.SmtpCommandException(
            global::MailKit.Net.Smtp.SmtpErrorCode.RecipientNotAccepted,
            global::MailKit.Net.Smtp.SmtpStatusCode.MailboxUnavailable,
            new MimeKit.MailboxAddress(null, "bob@example.test"),
            "5.1.1 <bob@example.test>: Recipient address rejected");

        MailKitOtpSender.Describe(ex).Should().Be(string.Format(CultureInfo.InvariantCulture, "SmtpCommandException RecipientNotAccepted, 550 MailboxUnavailable"));
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Smtp");

    private sealed class NoTokens : ISmtpAccessTokenProvider
    {
        public ValueTask<string> GetAccessTokenAsync(string userName, CancellationToken cancellationToken) => ValueTask.FromResult("token");
    }
}
