using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OtpVerification.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port (no persistence, a random password), which a
/// test can kill and start again on the same port. <c>.ci/run</c> installs <c>redis-server</c>.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private const string Executable = "/usr/bin/redis-server";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "otp-aspnet-redis-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    private RedisProcess(int port) => Port = port;

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>The password the server requires.</summary>
    public string Password { get; } = "pw-" + Guid.NewGuid().ToString("N");

    /// <summary>A StackExchange.Redis-style connection string for it.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},password={Password}";

    /// <summary>Starts a server on a free port.</summary>
    /// <returns>The running server.</returns>
    public static async Task<RedisProcess> StartAsync()
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: apt-get install -y redis-server (.ci/run does).");
        }

        var server = new RedisProcess(LoopbackPort.Free());
        Directory.CreateDirectory(server._directory);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the process (again) on the same port and waits until it listens.</summary>
    /// <returns>A task.</returns>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _directory };
        foreach (var argument in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--requirepass", Password])
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.ErrorDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}.");
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

        throw new InvalidOperationException("redis-server did not listen within 10 s.");
    }

    /// <summary>Kills the process (as a crash would).</summary>
    /// <returns>A task.</returns>
    public async Task KillAsync()
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
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
