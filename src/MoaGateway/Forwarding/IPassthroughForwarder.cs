using MoaGateway.Providers;

namespace MoaGateway.Forwarding;

/// <summary>
/// Relays a request for a single upstream model byte for byte and streams the answer back as it arrives.
/// Kept behind this interface so a full reverse proxy (YARP) can take its place.
/// </summary>
public interface IPassthroughForwarder
{
    /// <summary>
    /// Sends <paramref name="body"/> to the provider's <paramref name="path"/> and copies the response to <paramref name="context"/>,
    /// the provider's key redacted in every byte and header (<see cref="RelayedBodyStream"/>, <see cref="RelayedHeaders"/>).
    /// Throws <see cref="Moa.ProviderException"/> when the upstream fails, also when an event stream ends without its
    /// <c>data: [DONE]</c>. If the response has started by then, the caller must end it as cut off (an error event, then
    /// an aborted connection), so that a cut-off answer never looks complete.
    /// </summary>
    Task ForwardAsync(HttpContext context, Provider provider, string path, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}
