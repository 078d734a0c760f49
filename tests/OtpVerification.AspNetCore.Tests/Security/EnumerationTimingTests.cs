using System.Diagnostics;
using System.Net;
using OtpVerification.AspNetCore.Tests.Hosting;
using Xunit.Abstractions;

namespace OtpVerification.AspNetCore.Tests.Security;

/// <summary>Timing tests run alone, so parallel tests do not add noise to one side only.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Timing";
}

/// <summary>
/// SECURITY.md, "Learning which emails have accounts": response times of a registered and a new
/// address cannot be told apart. The email sender takes 2–5 ms, so a path that skips it would
/// stand out; three hundred interleaved calls per side (medians of three) are compared with a
/// two-sample Kolmogorov–Smirnov test at α = 0.001.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class EnumerationTimingTests(EnumerationTimingTests.SlowSenderAppFactory app, ITestOutputHelper output) : IClassFixture<EnumerationTimingTests.SlowSenderAppFactory>
{
    private const double Alpha = 0.001;
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Start_RegisteredVersusNewAddresses_LatenciesCannotBeToldApart()
    {
        var (registered, fresh) = await LatencyProbe.MeasureAsync(app, "t-start", (c, email) => c.StartSignupAsync(email));

        LatencyProbe.ShouldBeIndistinguishable(registered, fresh, Alpha, output);
    }

    [Fact]
    public async Task PasswordResetStart_RegisteredVersusNewAddresses_LatenciesCannotBeToldApart()
    {
        var (registered, fresh) = await LatencyProbe.MeasureAsync(app, "t-reset", (c, email) => c.StartPasswordResetAsync(email));

        LatencyProbe.ShouldBeIndistinguishable(registered, fresh, Alpha, output);
    }

    [Fact]
    public async Task SignInStart_RegisteredVersusNewAddresses_LatenciesCannotBeToldApart()
    {
        var (registered, fresh) = await LatencyProbe.MeasureAsync(app, "t-signin", (c, email) => c.PostJsonAsync("/signin/code/start", new { email }));

        LatencyProbe.ShouldBeIndistinguishable(registered, fresh, Alpha, output);
    }

    [Fact]
    public async Task Resend_AfterStartForRegisteredVersusNewAddresses_LatenciesCannotBeToldApart()
    {
        // The attacker starts a signup for the address (answered alike), then times the resend.
        var (registered, fresh) = await LatencyProbe.MeasureAsync(
            app,
            "t-resend",
            (c, email) => c.ResendSignupAsync(email),
            async (c, email) =>
            {
                await (await c.StartSignupAsync(email)).ShouldBeAcceptedAsync();
            });

        LatencyProbe.ShouldBeIndistinguishable(registered, fresh, Alpha, output);
    }

    [Theory]
    [InlineData("wrong-code")]
    [InlineData("foreign-device")]
    [InlineData("stale-flow")]
    public async Task Verify_RegisteredVersusNewAddresses_LatenciesCannotBeToldApart(string probe)
    {
        // The attacker starts a signup for each address (answered alike), then times a verify
        // they can make without the mailbox: a wrong code, another device, an older flow.
        var staleFlows = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var (registered, fresh) = await LatencyProbe.MeasureAsync(
            app,
            "t-verify-" + probe,
            (c, email) => probe switch
            {
                "wrong-code" => c.VerifySignupAsync(email, "000000", deviceId: "attacker"),
                "foreign-device" => c.VerifySignupAsync(email, "000000", deviceId: "another"),
                _ => c.VerifySignupAsync(email, "000000", deviceId: "attacker", flowId: staleFlows[email]),
            },
            async (c, email) =>
            {
                await (await c.StartSignupAsync(email, deviceId: "attacker")).ShouldBeAcceptedAsync();
                if (probe == "stale-flow")
                {
                    staleFlows[email] = Api.FlowOf("/signup", email);
                    app.Clock.Advance(TimeSpan.FromSeconds(61));
                    await (await c.StartSignupAsync(email, deviceId: "attacker")).ShouldBeAcceptedAsync();
                }
            },
            HttpStatusCode.BadRequest);

        LatencyProbe.ShouldBeIndistinguishable(registered, fresh, Alpha, output);
    }

    /// <summary>The sample with a 2–5 ms email sender.</summary>
    public sealed class SlowSenderAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public SlowSenderAppFactory() => this.WithSender(new SlowEmailSender());
    }
}

/// <summary>
/// The control: with <c>Abuse:EqualizeResponseTimes=false</c> the same measurement does tell
/// registered from new addresses, so the test above has teeth on this machine.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class EnumerationTimingControlTests(EnumerationTimingControlTests.UnequalizedAppFactory app, ITestOutputHelper output) : IClassFixture<EnumerationTimingControlTests.UnequalizedAppFactory>
{
    [Fact]
    public async Task PasswordResetStart_WithEqualizationOff_LatenciesAreToldApart()
    {
        // Delivering before answering, a registered address waits for its sender and a decoy does not.
        var (registered, fresh) = await LatencyProbe.MeasureAsync(app, "t-off", (c, email) => c.StartPasswordResetAsync(email));

        var d = KolmogorovSmirnov.Statistic(registered, fresh);
        output.WriteLine(KolmogorovSmirnov.Describe(registered, fresh));
        d.Should().BeGreaterThan(KolmogorovSmirnov.CriticalValue(0.001, registered.Count, fresh.Count), "delivering before the answer, a skipped send is visible: {0}", KolmogorovSmirnov.Describe(registered, fresh));
    }

    /// <summary>The sample with a 2–5 ms email sender and equalisation off.</summary>
    public sealed class UnequalizedAppFactory : SampleAppFactory
    {
        /// <summary>Creates the factory.</summary>
        public UnequalizedAppFactory() => this.WithSender(new SlowEmailSender()).WithSetting("OtpSignup:Abuse:EqualizeResponseTimes", "false");
    }
}

/// <summary>
/// Times interleaved calls for registered and new addresses. Each data point is the median of
/// <see cref="CallsPerPoint"/> calls, so one call stalled by the (busy, 2-core) machine does not
/// decide a point; a systematic difference, which is what an attacker measures, survives medians.
/// </summary>
public static class LatencyProbe
{
    /// <summary>Data points per side.</summary>
    public const int Points = 100;

    /// <summary>Calls per data point (their median is the point).</summary>
    public const int CallsPerPoint = 3;

    /// <summary>
    /// Discarded pairs first: JIT and query compilation, and enough real deliveries to replace
    /// the cold ones in the engine's pool of 64 recent delivery times that suppressed answers copy.
    /// </summary>
    public const int WarmUpPairs = 80;

    /// <summary>
    /// Makes <see cref="WarmUpPairs"/> + <see cref="Points"/> × <see cref="CallsPerPoint"/> pairs
    /// of calls for a registered and a new address, alternating which goes first, every address
    /// used once, the clock moved past the cooldown between pairs. Each call must answer 202.
    /// </summary>
    /// <param name="app">The app.</param>
    /// <param name="tag">A prefix for the addresses.</param>
    /// <param name="call">The timed call.</param>
    /// <param name="prepare">An untimed call made first for both addresses of a pair, if any (the clock then moves past the cooldown).</param>
    /// <returns>The data points in milliseconds, registered and new.</returns>
    /// <param name="expected">The status every timed call must answer (202 by default).</param>
    public static async Task<(List<double> Registered, List<double> New)> MeasureAsync(SampleAppFactory app, string tag, Func<HttpClient, string, Task<HttpResponseMessage>> call, Func<HttpClient, string, Task>? prepare = null, HttpStatusCode expected = HttpStatusCode.Accepted)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(call);
        var client = app.CreateClient();
        var total = WarmUpPairs + (Points * CallsPerPoint);
        var registered = Enumerable.Range(0, total).Select(_ => TestData.Email(tag + "-reg")).ToArray();
        var fresh = Enumerable.Range(0, total).Select(_ => TestData.Email(tag + "-new")).ToArray();
        await app.SeedUsersAsync(registered);

        var forRegistered = new List<double>(Points);
        var forNew = new List<double>(Points);
        var groupRegistered = new double[CallsPerPoint];
        var groupNew = new double[CallsPerPoint];
        for (var i = 0; i < total; i++)
        {
            if (prepare is not null)
            {
                await prepare(client, registered[i]);
                await prepare(client, fresh[i]);
            }

            app.Clock.Advance(TimeSpan.FromSeconds(61));
            double r, n;
            if (i % 2 == 0)
            {
                r = await TimeAsync(client, registered[i], call, expected);
                n = await TimeAsync(client, fresh[i], call, expected);
            }
            else
            {
                n = await TimeAsync(client, fresh[i], call, expected);
                r = await TimeAsync(client, registered[i], call, expected);
            }

            if (i < WarmUpPairs)
            {
                continue;
            }

            var slot = (i - WarmUpPairs) % CallsPerPoint;
            groupRegistered[slot] = r;
            groupNew[slot] = n;
            if (slot == CallsPerPoint - 1)
            {
                forRegistered.Add(Median(groupRegistered));
                forNew.Add(Median(groupNew));
            }
        }

        return (forRegistered, forNew);
    }

    /// <summary>Asserts the two samples pass the two-sample KS test at <paramref name="alpha"/>.</summary>
    /// <param name="registered">Latencies for registered addresses.</param>
    /// <param name="fresh">Latencies for new addresses.</param>
    /// <param name="alpha">The significance.</param>
    /// <param name="output">Where the statistics are written.</param>
    public static void ShouldBeIndistinguishable(List<double> registered, List<double> fresh, double alpha, ITestOutputHelper output)
    {
        ArgumentNullException.ThrowIfNull(registered);
        ArgumentNullException.ThrowIfNull(fresh);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine(KolmogorovSmirnov.Describe(registered, fresh));
        var d = KolmogorovSmirnov.Statistic(registered, fresh);
        output.WriteLine(KolmogorovSmirnov.Describe(registered, fresh));
        d.Should().BeLessThan(KolmogorovSmirnov.CriticalValue(alpha, registered.Count, fresh.Count), "response times must not tell registered from new addresses (registered first): {0}", KolmogorovSmirnov.Describe(registered, fresh));
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static async Task<double> TimeAsync(HttpClient client, string email, Func<HttpClient, string, Task<HttpResponseMessage>> call, HttpStatusCode expected)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await call(client, email);
        await response.Content.ReadAsByteArrayAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        response.StatusCode.Should().Be(expected);
        return elapsed.TotalMilliseconds;
    }
}
