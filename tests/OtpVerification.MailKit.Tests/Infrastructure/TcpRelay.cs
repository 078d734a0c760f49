using System.Net;
using System.Net.Sockets;

namespace OtpVerification.MailKit.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a real server: counts the connections clients open, and can
/// cut every open one at once, the way a server drops an idle SMTP connection. Bytes pass through
/// untouched (TLS included).
/// </summary>
public sealed class TcpRelay : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly List<(Socket Inbound, Socket Outbound)> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private int _accepted;

    public TcpRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _accepted);

    /// <summary>Connections still open at both ends.</summary>
    public int Open
    {
        get
        {
            lock (_open)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Closes every open connection, both ways.</summary>
    public void DropAll()
    {
        List<(Socket Inbound, Socket Outbound)> open;
        lock (_open)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var (inbound, outbound) in open)
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    /// <summary>Waits until no connection is open (the client closed it), or gives up after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitUntilClosedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Open > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return Open;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        DropAll();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var inbound = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                }
                catch (SocketException)
                {
                    // The server is gone: refuse this client too.
                    inbound.Dispose();
                    outbound.Dispose();
                    continue;
                }

                lock (_open)
                {
                    _open.Add((inbound, outbound));
                }

                _ = PumpAsync(inbound, outbound);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task PumpAsync(Socket inbound, Socket outbound)
    {
        await Task.WhenAny(CopyAsync(inbound, outbound), CopyAsync(outbound, inbound));
        lock (_open)
        {
            _open.Remove((inbound, outbound));
        }

        inbound.Dispose();
        outbound.Dispose();
    }

    private static async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // One side closed.
        }
    }
}
