using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>
/// A local Redis Cluster of 3 masters and 3 replicas: six <c>redis-server --cluster-enabled yes</c>
/// processes on free loopback ports, joined by <c>redis-cli --cluster create … --cluster-replicas 1</c>.
/// A short node timeout makes a replica take over a killed master within a few seconds.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime, IRedisTarget
{
    public const string Cli = "/usr/bin/redis-cli";

    private readonly List<IConnectionMultiplexer> _multiplexers = [];
    private readonly string _password = "pw-" + Guid.NewGuid().ToString("N");

    /// <summary>The six nodes, in the order given to <c>--cluster create</c> (the first three start as masters).</summary>
    public IReadOnlyList<RedisServer> Nodes { get; private set; } = [];

    /// <summary>The three first nodes, comma-separated, with the password: <c>n1:p1,n2:p2,n3:p3,password=…</c>.</summary>
    public string ConnectionString => string.Join(",", Nodes.Take(3).Select(n => $"127.0.0.1:{n.Port}")) + ",password=" + _password;

    /// <inheritdoc />
    public IConnectionMultiplexer Multiplexer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string[] node =
        [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
            "--cluster-replica-validity-factor", "0", "--masterauth", _password,
        ];
        var nodes = new List<RedisServer>();
        for (var i = 0; i < 6; i++)
        {
            nodes.Add(await RedisServer.StartAsync(extraArguments: node, password: _password));
        }

        Nodes = nodes;
        var create = new List<string> { "--cluster", "create" };
        create.AddRange(nodes.Select(n => $"127.0.0.1:{n.Port}"));
        create.AddRange(["--cluster-replicas", "1", "--cluster-yes"]);
        await CliAsync(nodes[0].Port, create);
        await WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        Multiplexer = await ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }

        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
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

    /// <summary>The running nodes that are masters now.</summary>
    public async Task<IReadOnlyList<RedisServer>> MastersAsync()
    {
        var masters = new List<RedisServer>();
        foreach (var node in Nodes.Where(n => n.IsRunning))
        {
            if ((await CliAsync(node.Port, ["ROLE"])).StartsWith("master", StringComparison.Ordinal))
            {
                masters.Add(node);
            }
        }

        return masters;
    }

    /// <summary>
    /// Waits until every running node sees the cluster as <c>ok</c> with all slots served, three
    /// masters, and every running replica's link to its master up.
    /// </summary>
    public async Task WaitUntilHealthyAsync(TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        var last = string.Empty;
        while (true)
        {
            try
            {
                if (await IsHealthyAsync())
                {
                    return;
                }
            }
            catch (InvalidOperationException ex)
            {
                last = ex.Message;
            }

            if (watch.Elapsed > bound)
            {
                throw new TimeoutException($"The cluster was not healthy within {bound.TotalSeconds} s. {last}");
            }

            await Task.Delay(100);
        }
    }

    private async Task<bool> IsHealthyAsync()
    {
        var masters = 0;
        foreach (var node in Nodes.Where(n => n.IsRunning))
        {
            var info = await CliAsync(node.Port, ["CLUSTER", "INFO"]);
            if (!info.Contains("cluster_state:ok", StringComparison.Ordinal) || !info.Contains("cluster_slots_ok:16384", StringComparison.Ordinal))
            {
                return false;
            }

            var replication = await CliAsync(node.Port, ["INFO", "replication"]);
            if (replication.Contains("role:master", StringComparison.Ordinal))
            {
                masters++;
            }
            else if (!replication.Contains("master_link_status:up", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return masters == 3;
    }

    /// <summary>Runs <c>redis-cli</c> against one node and returns its output.</summary>
    public async Task<string> CliAsync(int port, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-a", _password, "--no-auth-warning"])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"redis-cli {string.Join(' ', info.ArgumentList.Skip(6))} exited with {process.ExitCode}: {await output} {await error}");
    }
}

/// <summary>The test classes that share one cluster (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
