using System.Net;
using System.Net.Sockets;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>A loopback port nothing listens on (the OS picks it, then it is released): an upstream that refuses connections.</summary>
public static class FreePort
{
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
