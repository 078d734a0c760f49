using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.Redis.Connection;
using OtpVerification.Redis.Tests.Infrastructure;
using OtpVerification.Stores;

namespace OtpVerification.Redis.Tests.Connection;

/// <summary>A redis-server that speaks TLS only, with a self-signed certificate made for the test.</summary>
public sealed class RedisTlsFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public X509Certificate2 Certificate { get; private set; } = null!;

    public string ConnectionString => $"127.0.0.1:{Server.Port},ssl=true,sslHost=localhost,password={Server.Password}";

    public async Task InitializeAsync()
    {
        var directory = Directory.CreateTempSubdirectory("otp-redis-tls-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory, "redis.crt");
        var keyPath = Path.Combine(directory, "redis.key");
        await File.WriteAllTextAsync(certificatePath, Certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        Server = await RedisServer.StartAsync((certificatePath, keyPath));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Certificate.Dispose();
    }

    public bool IsOurCertificate(X509Certificate? certificate) =>
        certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString();
}

public sealed class RedisTlsTests(RedisTlsFixture tls) : IClassFixture<RedisTlsFixture>
{
    [Fact]
    public async Task ExecuteAsync_OverTls_RoundTripsLargeBinaryValuesAndPipelines()
    {
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse(tls.ConnectionString)
            .With(certificateValidation: (_, certificate, _, _) => tls.IsOurCertificate(certificate)));
        var value = new byte[1024 * 1024];
        Random.Shared.NextBytes(value);

        await connection.ExecuteAsync(["SET", "tls:big", value]);
        var echoes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => connection.ExecuteAsync(["ECHO", $"e{i}"]).AsTask()));

        (await connection.ExecuteAsync(["GET", "tls:big"])).Bytes.AsSpan().SequenceEqual(value).Should().BeTrue();
        echoes.Select(e => e.AsString()).Should().Equal(Enumerable.Range(0, 200).Select(i => $"e{i}"));
    }

    [Fact]
    public async Task ExecuteAsync_UntrustedCertificate_ThrowsUnavailable()
    {
        await using var connection = new RedisConnection(RedisConnectionSettings.Parse(tls.ConnectionString));

        var act = async () => await connection.ExecuteAsync(["PING"]);

        (await act.Should().ThrowAsync<OtpStoreUnavailableException>()).Which.InnerException.Should().BeAssignableTo<System.Security.Authentication.AuthenticationException>();
    }

    [Fact]
    public async Task AddRedisStore_WithCertificateValidation_UsesTls()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOtpVerification().AddRedisStore(options =>
        {
            options.Configuration = tls.ConnectionString;
            options.CertificateValidation = (_, certificate, _, _) => tls.IsOurCertificate(certificate);
        });
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IPendingRegistrationStore>();

        (await store.ReserveSendAsync(new PendingKey(OtpPurpose.Signup, "tls@example.com"), Registrations.Policy, DateTimeOffset.UnixEpoch.AddYears(60)))
            .Status.Should().Be(SendGateStatus.Allowed);
    }
}
