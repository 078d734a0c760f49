using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OtpVerification.Benchmarks.Fixtures;

/// <summary>
/// A <c>redis-server</c> started by the benchmark on a free loopback port, without persistence
/// (<c>--save "" --appendonly no</c>), in a temporary directory; stopped and removed on dispose.
/// </summary>
internal sealed class RedisServerProcess : IAsyncDisposable
{
    public const string DefaultExecutable = "/usr/bin/redis-server";

    private readonly Process _process;
    private readonly string _directory;
    private bool _disposed;

    private RedisServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public static async Task<RedisServerProcess> StartAsync()
    {
        var executable = Environment.GetEnvironmentVariable("OTP_BENCH_REDIS_SERVER") ?? DefaultExecutable;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} not found: install it (apt-get install -y redis-server) or set OTP_BENCH_REDIS_SERVER.");
        }

        var directory = Path.Combine(Path.GetTempPath(), "otp-bench-redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--logfile", Path.Combine(directory, "redis.log")])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServerProcess(process, directory, port);

        // Never leave the server behind, even when the benchmark host exits without cleaning up.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}.");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(10);
            }
        }

        await server.DisposeAsync();
        throw new InvalidOperationException("redis-server did not listen within 10 s.");
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        Kill();
        await _process.WaitForExitAsync();
        _disposed = true;
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Kill()
    {
        try
        {
            if (!_disposed && !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
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
