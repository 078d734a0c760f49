using System.Globalization;
using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>
/// One password-protected <c>redis-server</c> per test class (xUnit class fixture), so classes run
/// in parallel without seeing each other's keys, scripts or statistics.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime, IRedisTarget
{
    private readonly List<IConnectionMultiplexer> _multiplexers = [];
    private IConnectionMultiplexer? _admin;

    public RedisServer Server { get; private set; } = null!;

    /// <inheritdoc />
    public string ConnectionString => $"127.0.0.1:{Server.Port},password={Server.Password}";

    /// <inheritdoc />
    public IConnectionMultiplexer Multiplexer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        Multiplexer = await ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }

        await Server.DisposeAsync();
    }

    /// <inheritdoc />
    public async Task<IConnectionMultiplexer> ConnectAsync(string options = "", Action<ConfigurationOptions>? configure = null)
    {
        var configuration = ConfigurationOptions.Parse(ConnectionString + ",abortConnect=false" + (options.Length > 0 ? "," + options : string.Empty));
        configure?.Invoke(configuration);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        lock (_multiplexers)
        {
            _multiplexers.Add(multiplexer);
        }

        return multiplexer;
    }

    /// <summary>
    /// The server's <c>INFO commandstats</c>, by command name (<c>evalsha</c>, <c>zadd</c>, <c>client|setinfo</c>…):
    /// what each command has cost since the start or the last <c>CONFIG RESETSTAT</c>.
    /// </summary>
    /// <returns>Each command's counters.</returns>
    public async Task<IReadOnlyDictionary<string, CommandStat>> CommandStatsAsync()
    {
        var info = (string)(await AdminAsync("INFO", "commandstats"))!;
        var stats = new Dictionary<string, CommandStat>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var fields = line[(colon + 1)..].Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            long Field(string name) => fields.TryGetValue(name, out var value) ? long.Parse(value, CultureInfo.InvariantCulture) : 0;
            stats[line["cmdstat_".Length..colon]] = new CommandStat(Field("calls"), Field("usec"), Field("failed_calls"), Field("rejected_calls"));
        }

        return stats;
    }

    /// <summary>Runs an admin command (INFO, SCAN, CONFIG…) on the server; an error reply fails the test.</summary>
    public async Task<RedisResult> AdminAsync(string command, params object[] args)
    {
        _admin ??= await ConnectAsync("allowAdmin=true");
        return await _admin.GetServer(_admin.GetEndPoints()[0]).ExecuteAsync(command, args);
    }
}

/// <summary>One command's line of <c>INFO commandstats</c>.</summary>
/// <param name="Calls">Calls answered (an error reply such as <c>NOSCRIPT</c> counts here and in <paramref name="Failed"/>).</param>
/// <param name="Usec">Microseconds spent running it, inside Redis.</param>
/// <param name="Failed">Calls that answered an error while running.</param>
/// <param name="Rejected">Calls refused before running (unknown command, ACL, out of memory…).</param>
public readonly record struct CommandStat(long Calls, long Usec, long Failed, long Rejected);
