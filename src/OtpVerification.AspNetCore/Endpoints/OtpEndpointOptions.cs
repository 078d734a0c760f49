using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace OtpVerification.AspNetCore;

/// <summary>How the endpoints identify a client for the per-client send limit.</summary>
public sealed class OtpEndpointOptions
{
    /// <summary>
    /// Returns the key the per-client send limit (<c>OtpSignup:Abuse:MaxSendsPerClientPerHour</c>)
    /// counts under, or <see langword="null"/> to skip it. The default is the remote IP address
    /// (an IPv6 address by its /64 network, which one subscriber usually holds whole). Behind a
    /// proxy, configure <c>UseForwardedHeaders</c> so the remote address is the client's.
    /// </summary>
    public Func<HttpContext, string?> ClientKey { get; set; } = DefaultClientKey;

    /// <summary>The default <see cref="ClientKey"/>: the remote IP address, IPv6 by /64.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The key, or <see langword="null"/> when the address is unknown.</returns>
    public static string? DefaultClientKey(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }

        return address.ToString();
    }
}
