using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OtpVerification.Senders;
using OtpVerification.Twilio;

namespace OtpVerification.AspNetCore.Tests.Senders;

public sealed class TwilioSmsRegistrationTests
{
    private const string AccountSid = "AC0123456789abcdef0123456789abcdef";

    [Fact]
    public void AddTwilioSmsSender_Configuration_BindsEveryKey()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddTwilioSmsSender(Section(new()
        {
            ["Sms:Twilio:AccountSid"] = AccountSid,
            ["Sms:Twilio:AuthToken"] = "token",
            ["Sms:Twilio:From"] = "+14155550100",
            ["Sms:Twilio:MessagingServiceSid"] = "MG0123456789abcdef0123456789abcdef",
            ["Sms:Twilio:BaseUrl"] = "https://twilio-relay.example.test",
            ["Sms:Twilio:Timeout"] = "00:00:03",
        })));

        services.GetRequiredService<IOptions<TwilioSmsOptions>>().Value.Should().BeEquivalentTo(new TwilioSmsOptions
        {
            AccountSid = AccountSid,
            AuthToken = "token",
            From = "+14155550100",
            MessagingServiceSid = "MG0123456789abcdef0123456789abcdef",
            BaseUrl = new Uri("https://twilio-relay.example.test"),
            Timeout = TimeSpan.FromSeconds(3),
        });
    }

    [Fact]
    public void TwilioSmsOptions_Defaults_TwilioApiAndTenSeconds()
    {
        var options = new TwilioSmsOptions();

        new { options.BaseUrl, options.Timeout }.Should().Be(new { BaseUrl = new Uri("https://api.twilio.com"), Timeout = TimeSpan.FromSeconds(10) });
    }

    [Fact]
    public void AddTwilioSmsSender_CalledTwice_RegistersOneSmsSenderThatWins()
    {
        using var services = SenderTestKit.BuildServices(b => b
            .AddTwilioSmsSender(o => { o.AccountSid = AccountSid; o.AuthToken = "t"; o.From = "+14155550100"; })
            .AddTwilioSmsSender(o => o.Timeout = TimeSpan.FromSeconds(3)));

        services.GetServices<IOtpSender>().Where(s => s.Channel == OtpChannel.Sms).Select(s => s.GetType())
            .Should().Equal(typeof(DevOutboxSender), typeof(TwilioSmsSender));
    }

    [Theory]
    [InlineData("AccountSid", null, "Sms:Twilio:AccountSid is required")]
    [InlineData("AccountSid", "SK0123456789abcdef0123456789abcdef", "Sms:Twilio:AccountSid 'SK0123456789abcdef0123456789abcdef' is not a Twilio account SID")]
    [InlineData("AuthToken", null, "Sms:Twilio:AuthToken is required")]
    [InlineData("From", null, "Sms:Twilio:From or Sms:Twilio:MessagingServiceSid is required")]
    [InlineData("MessagingServiceSid", "MG123", "Sms:Twilio:MessagingServiceSid 'MG123' is not a Messaging Service SID")]
    [InlineData("BaseUrl", "http://api.twilio.com", "Sms:Twilio:BaseUrl 'http://api.twilio.com/' must be an absolute https:// address")]
    [InlineData("Timeout", "00:00:00", "Sms:Twilio:Timeout 00:00:00 must be positive")]
    public void ValidateOnStart_BadSetting_FailsNamingTheKey(string key, string? value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Sms:Twilio:AccountSid"] = AccountSid,
            ["Sms:Twilio:AuthToken"] = "token",
            ["Sms:Twilio:From"] = "+14155550100",
        };
        settings["Sms:Twilio:" + key] = value;
        using var services = SenderTestKit.BuildServices(b => b.AddTwilioSmsSender(Section(settings)));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateOnStart_HttpOnLoopback_Succeeds()
    {
        using var services = SenderTestKit.BuildServices(b => b.AddTwilioSmsSender(o =>
        {
            o.AccountSid = AccountSid;
            o.AuthToken = "token";
            o.From = "+14155550100";
            o.BaseUrl = new Uri("http://127.0.0.1:8080");
        }));

        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().NotThrow();
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Sms:Twilio");
}
