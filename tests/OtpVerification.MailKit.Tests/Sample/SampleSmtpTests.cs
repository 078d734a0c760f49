using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OtpVerification.AspNetCore.Tests.Hosting;
using OtpVerification.MailKit.Tests.Infrastructure;

namespace OtpVerification.MailKit.Tests.Sample;

/// <summary>The sample app with <c>Smtp:Host</c> set: codes go through the MailKit sender to a real SMTP server.</summary>
[Collection(MailDevCollection.Name)]
public sealed partial class SampleSmtpTests(MailDevFixture mailDev)
{
    [Fact]
    public async Task SignupStart_SmtpHostAndSecurityNone_CodeArrivesAtMailDev()
    {
        await using var app = Sample(security: "None");
        var email = TestData.Email("smtp");

        var response = await app.CreateClient().StartSignupAsync(email);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);

        var text = (await mailDev.GetPartsAsync(await mailDev.WaitForEmailAsync(email)))["text/plain"];
        SixDigits().IsMatch(text).Should().BeTrue();
    }

    [Fact]
    public async Task SignupStart_SmtpHostWithoutSecurityAgainstPlainServer_RefusesToSendInClearAnd503()
    {
        await using var app = Sample(security: null);
        var before = await mailDev.CountAsync();

        var response = await app.CreateClient().StartSignupAsync(TestData.Email("smtp-tls"));

        new { response.StatusCode, Caught = await mailDev.CountAsync() - before }
            .Should().Be(new { StatusCode = HttpStatusCode.ServiceUnavailable, Caught = 0 });
    }

    [Fact]
    public async Task SignupStart_OldEnableSslFalse_StillSendsInClearToLocalCatcher()
    {
        await using var app = Sample(security: null);
        app.Smtp["Smtp:EnableSsl"] = "false";
        var email = TestData.Email("smtp-alias");

        var response = await app.CreateClient().StartSignupAsync(email);

        new { response.StatusCode, To = (await mailDev.WaitForEmailAsync(email)).GetProperty("to")[0].GetProperty("address").GetString() }
            .Should().Be(new { StatusCode = HttpStatusCode.Accepted, To = (string?)email });
    }

    private SmtpSampleFactory Sample(string? security)
    {
        var factory = new SmtpSampleFactory();
        factory.Smtp["Smtp:Host"] = mailDev.Host;
        factory.Smtp["Smtp:Port"] = mailDev.SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        factory.Smtp["Smtp:From"] = "no-reply@sample.test";
        factory.Smtp["Smtp:Security"] = security;
        return factory;
    }

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();

    /// <summary>
    /// The sample reads <c>Smtp:Host</c> before <c>Build()</c>, when the factory's app configuration
    /// is not applied yet (dotnet/aspnetcore#37680): the SMTP keys go in as host configuration.
    /// </summary>
    private sealed class SmtpSampleFactory : SampleAppFactory
    {
        public Dictionary<string, string?> Smtp { get; } = new(StringComparer.OrdinalIgnoreCase);

        protected override IHost CreateHost(IHostBuilder builder)
        {
            ArgumentNullException.ThrowIfNull(builder);
            builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(Smtp));
            return base.CreateHost(builder);
        }
    }
}
