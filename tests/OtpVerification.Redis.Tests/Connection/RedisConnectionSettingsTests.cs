using OtpVerification.Redis.Connection;

namespace OtpVerification.Redis.Tests.Connection;

public sealed class RedisConnectionSettingsTests
{
    [Fact]
    public void Parse_HostOnly_UsesDefaults()
    {
        var settings = RedisConnectionSettings.Parse("localhost");

        settings.Endpoints.Should().Equal(new RedisEndpoint("localhost", 6379));
        settings.Ssl.Should().BeFalse();
        settings.Password.Should().BeNull();
        settings.DefaultDatabase.Should().Be(0);
        settings.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(5));
        settings.CommandTimeout.Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Parse_EveryOption_IsRead()
    {
        var settings = RedisConnectionSettings.Parse(
            " redis1:7000 , [::1]:7001,::1,redis3 ,user=app,password=p@ss=word,ssl=True,sslHost=cache.example.com,"
            + "defaultDatabase=3,connectTimeout=1500,syncTimeout=250,abortConnect=false,name=otp,sslProtocols=Tls12|Tls13,"
            + "checkCertificateRevocation=false,allowAdmin=true,connectRetry=3");

        settings.Endpoints.Should().Equal(
            new RedisEndpoint("redis1", 7000),
            new RedisEndpoint("::1", 7001),
            new RedisEndpoint("::1", 6380),
            new RedisEndpoint("redis3", 6380));
        settings.User.Should().Be("app");
        settings.Password.Should().Be("p@ss=word");
        settings.Ssl.Should().BeTrue();
        settings.SslHost.Should().Be("cache.example.com");
        settings.SslProtocols.Should().Be(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13);
        settings.CheckCertificateRevocation.Should().BeFalse();
        settings.DefaultDatabase.Should().Be(3);
        settings.ConnectTimeout.Should().Be(TimeSpan.FromMilliseconds(1500));
        settings.CommandTimeout.Should().Be(TimeSpan.FromMilliseconds(250));
        settings.AbortOnConnectFail.Should().BeFalse();
        settings.ClientName.Should().Be("otp");
    }

    [Fact]
    public void Parse_AsyncTimeout_WinsOverSyncTimeout()
    {
        RedisConnectionSettings.Parse("h,syncTimeout=100,asyncTimeout=900").CommandTimeout.Should().Be(TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public void Parse_KeywordsAreCaseInsensitive()
    {
        var settings = RedisConnectionSettings.Parse("h:1,PASSWORD=x,SSL=false,DefaultDatabase=2");

        (settings.Password, settings.DefaultDatabase).Should().Be(("x", 2));
    }

    [Fact]
    public void Parse_EndpointToString_BracketsIpv6()
    {
        new RedisEndpoint("::1", 6379).ToString().Should().Be("[::1]:6379");
        new RedisEndpoint("redis", 6379).ToString().Should().Be("redis:6379");
    }

    [Theory]
    [InlineData("", "No endpoint")]
    [InlineData("password=x", "No endpoint")]
    [InlineData("h:0", "invalid port")]
    [InlineData("h:port", "invalid port")]
    [InlineData("[::1", "closing")]
    [InlineData("h,ssl=yes", "'ssl' must be true or false")]
    [InlineData("h,defaultDatabase=-1", "'defaultDatabase' must be a whole number")]
    [InlineData("h,connectTimeout=0", "'connectTimeout' must be a whole number of at least 1")]
    [InlineData("h,colour=blue", "Option 'colour' is not supported")]
    [InlineData("h,serviceName=mymaster", "Sentinel")]
    [InlineData("h,protocol=resp3", "RESP2")]
    [InlineData("h,sslProtocols=tls99", "unknown protocol")]
    public void Parse_Malformed_ThrowsFormatExceptionNamingTheProblem(string configuration, string expected)
    {
        var act = () => RedisConnectionSettings.Parse(configuration);

        act.Should().Throw<FormatException>().WithMessage($"*{expected}*");
    }

    [Fact]
    public void Parse_UnknownKeywordWithIgnoreUnknown_IsAccepted()
    {
        RedisConnectionSettings.Parse("h,colour=blue,ignoreUnknown=true").Endpoints.Should().ContainSingle();
    }

    [Fact]
    public void Parse_Malformed_NeverRepeatsThePassword()
    {
        var act = () => RedisConnectionSettings.Parse("h,password=s3cret-value,colour=blue");

        act.Should().Throw<FormatException>().Which.Message.Should().NotContain("s3cret-value");
    }
}
