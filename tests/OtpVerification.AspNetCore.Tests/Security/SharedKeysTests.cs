using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using OtpVerification.AspNetCore.Tests.Hosting;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>
/// SECURITY.md, "Running more than one instance": instances sharing a store must share
/// <c>OtpSignup:Code:HashKey</c> and the Data Protection key ring (<c>DataProtection:KeysPath</c>
/// in the sample). Two hosts share one store instance, one clock and one SQLite user database.
/// </summary>
public sealed class SharedKeysTests
{
    [Fact]
    public async Task Verify_OnAnotherInstanceSharingHashKeyAndKeyRing_Returns200AndCreatesTheUser()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: true, sameKeyRing: true);
        var email = TestData.Email("shared-ok");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var verify = await instances.B.CreateClient().VerifySignupAsync(email, await instances.A.ReadCodeAsync(email));

        (await verify.ShouldHaveJsonAsync(HttpStatusCode.OK)).GetProperty("email").GetString().Should().Be(email);
        (await instances.B.CountUsersAsync(email)).Should().Be(1);
    }

    [Fact]
    public async Task Verify_OnAnotherInstanceWithADifferentHashKey_Returns400InvalidCode()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: false, sameKeyRing: true);
        var email = TestData.Email("shared-hashkey");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var verify = await instances.B.CreateClient().VerifySignupAsync(email, await instances.A.ReadCodeAsync(email));

        await verify.ShouldBeInvalidCodeAsync();
    }

    [Fact]
    public async Task Verify_OnAnotherInstanceWithADifferentKeyRing_Returns503Unavailable()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: true, sameKeyRing: false);
        var email = TestData.Email("shared-ring");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();

        var verify = await instances.B.CreateClient().VerifySignupAsync(email, await instances.A.ReadCodeAsync(email));

        await verify.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
        (await instances.B.CountUsersAsync(email)).Should().Be(0);
    }

    [Fact]
    public async Task Verify_OnAnotherInstanceWithADifferentKeyRing_CountsAnUnreadablePayload()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: true, sameKeyRing: false);
        var email = TestData.Email("shared-metric");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var clientB = instances.B.CreateClient();
        var meters = instances.B.Services.GetRequiredService<IMeterFactory>();
        var counted = new List<(long Value, string? Purpose)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "otp_verification.payloads.unreadable")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (counted)
            {
                counted.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "purpose").Value as string));
            }
        });
        listener.Start();

        await (await clientB.VerifySignupAsync(email, await instances.A.ReadCodeAsync(email))).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");

        counted.Should().Equal([(1L, "signup")]);
    }

    [Fact]
    public async Task Verify_AfterAnUnreadablePayload_PutsThePendingRegistrationBack()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: true, sameKeyRing: false);
        var email = TestData.Email("shared-putback");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var code = await instances.A.ReadCodeAsync(email);
        await (await instances.B.CreateClient().VerifySignupAsync(email, code)).ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");

        // The entry is back: the instance that can read it completes the signup with the same code.
        var retry = await instances.A.CreateClient().VerifySignupAsync(email, code);

        retry.StatusCode.Should().Be(HttpStatusCode.OK);
        (await instances.A.CountUsersAsync(email)).Should().Be(1);
    }

    [Fact]
    public async Task Verify_AfterTheKeyRingRotatedBetweenStartAndVerify_Returns200()
    {
        await using var instances = Configure(new TwoInstances(), sameHashKey: true, sameKeyRing: true);
        var email = TestData.Email("shared-rotate");
        await (await instances.A.CreateClient().StartSignupAsync(email)).ShouldBeAcceptedAsync();
        var keys = instances.B.Services.GetRequiredService<IKeyManager>();
        var now = DateTimeOffset.UtcNow;

        keys.CreateNewKey(activationDate: now, expirationDate: now.AddDays(90));
        keys.GetAllKeys().Should().HaveCount(2, "the ring now holds the key the payload was protected with and a new default");
        var verify = await instances.B.CreateClient().VerifySignupAsync(email, await instances.A.ReadCodeAsync(email));

        verify.StatusCode.Should().Be(HttpStatusCode.OK, "a rotated key stays in the ring and keeps decrypting what it protected");
    }

    private static TwoInstances Configure(TwoInstances instances, bool sameHashKey, bool sameKeyRing)
    {
        var hashKey = TwoInstances.NewHashKey();
        var keyRing = instances.NewKeyRingDirectory();
        instances.A.WithSetting("OtpSignup:Code:HashKey", hashKey).WithSetting("DataProtection:KeysPath", keyRing);
        instances.B
            .WithSetting("OtpSignup:Code:HashKey", sameHashKey ? hashKey : TwoInstances.NewHashKey())
            .WithSetting("DataProtection:KeysPath", sameKeyRing ? keyRing : instances.NewKeyRingDirectory());
        return instances;
    }
}
