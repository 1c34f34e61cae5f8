using System.Collections.Frozen;
using Microsoft.Extensions.Primitives;
using MoaGateway.Providers;

namespace MoaGateway.Forwarding;

/// <summary>
/// Which of a provider's response headers a relayed response carries, and with what value. Left behind: hop-by-hop
/// headers; the provider's CORS headers, which would open the gateway to browsers its own CORS settings refuse; its
/// cookies, which would land on the gateway's origin for every client of it; and
/// Content-Length, as redacting the key can change the body's length (the body is then chunked). The provider's key,
/// in a value that holds it (some upstreams echo the Authorization they received), is redacted.
/// </summary>
public static class RelayedHeaders
{
    private static readonly FrozenSet<string> LeftBehind = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Content-Length", "Set-Cookie");

    public static void Copy(HttpResponseMessage source, IHeaderDictionary destination, Provider provider)
    {
        foreach (var (name, values) in source.Headers.Concat(source.Content.Headers))
        {
            if (IsRelayed(name))
            {
                destination[name] = Redacted(values, provider);
            }
        }
    }

    public static bool IsRelayed(string name) => !LeftBehind.Contains(name) && !name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase);

    public static StringValues Redacted(IEnumerable<string> values, Provider provider) => new([.. values.Select(provider.Redact)]);
}
