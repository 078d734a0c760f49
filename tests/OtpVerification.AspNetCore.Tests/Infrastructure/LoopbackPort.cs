using System.Net;
using System.Net.Sockets;

namespace OtpVerification.AspNetCore.Tests.Infrastructure;

/// <summary>Free TCP ports on 127.0.0.1, for servers a test starts (or for "nothing listens here").</summary>
internal static class LoopbackPort
{
    /// <summary>A port nothing listens on right now.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
