using MoaGateway.Providers;

namespace MoaGateway.Forwarding;

/// <summary>
/// Relays a request for a single upstream model byte for byte and streams the answer back as it arrives.
/// Kept behind this interface so a full reverse proxy (YARP) can take its place.
/// </summary>
public interface IPassthroughForwarder
{
    /// <summary>
    /// Sends <paramref name="body"/> to the provider's <paramref name="path"/> and copies the response to <paramref name="context"/>.
    /// Throws <see cref="Moa.ProviderException"/> when the upstream fails before anything was written to the client;
    /// a failure after that aborts the client connection, so a cut-off answer never looks complete.
    /// </summary>
    Task ForwardAsync(HttpContext context, Provider provider, string path, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}
