using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OtpVerification.Redis.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> process on a free loopback port, in a temporary directory, with no
/// persistence. It can be stopped and started again on the same port.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly string _directory;
    private readonly IReadOnlyList<string> _extraArguments;
    private readonly bool _tls;
    private Process? _process;

    private RedisServer(string directory, int port, string password, bool tls, IReadOnlyList<string> extraArguments)
    {
        _directory = directory;
        Port = port;
        Password = password;
        _tls = tls;
        _extraArguments = extraArguments;
    }

    public int Port { get; }

    public string Password { get; }

    public string Directory => _directory;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server protected by a random password.</summary>
    /// <param name="tlsCertificateFiles">Certificate and key PEM files: serve TLS only.</param>
    /// <param name="extraArguments">More <c>redis-server</c> arguments (a cluster node's).</param>
    /// <param name="password">The password; random when null.</param>
    public static async Task<RedisServer> StartAsync((string Certificate, string Key)? tlsCertificateFiles = null, IEnumerable<string>? extraArguments = null, string? password = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "otp-redis-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var extra = new List<string>(extraArguments ?? []);
        if (tlsCertificateFiles is { } tls)
        {
            extra.AddRange(["--tls-cert-file", tls.Certificate, "--tls-key-file", tls.Key, "--tls-auth-clients", "no"]);
        }

        for (var attempt = 0; ; attempt++)
        {
            var server = new RedisServer(directory, extra.Contains("--cluster-enabled") ? FreeClusterPort() : FreePort(), password ?? "pw-" + Guid.NewGuid().ToString("N"), tlsCertificateFiles is not null, extra);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // Another process took the port between probing and binding: try another.
                await server.StopAsync();
            }
        }
    }

    /// <summary>Starts the process (again) on the same port.</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        if (_tls)
        {
            info.ArgumentList.Add("--port");
            info.ArgumentList.Add("0");
            info.ArgumentList.Add("--tls-port");
        }
        else
        {
            info.ArgumentList.Add("--port");
        }

        info.ArgumentList.Add(Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var argument in (string[])["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--requirepass", Password, "--logfile", Path.Combine(_directory, "redis.log")])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in _extraArguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.ErrorDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}: {ReadLog()}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(10);
            }
        }

        throw new InvalidOperationException("redis-server did not listen within 10 s: " + ReadLog());
    }

    /// <summary>The process id, while it runs.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Kills the process; the port is free again afterwards.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string ReadLog()
    {
        var path = Path.Combine(_directory, "redis.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    /// <summary>A free port P whose cluster bus port P + 10000 is free too (and below 65536).</summary>
    private static int FreeClusterPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 55_000);
            if (IsFree(port) && IsFree(port + 10_000))
            {
                return port;
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
