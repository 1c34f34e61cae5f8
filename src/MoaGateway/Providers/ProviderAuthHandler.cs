namespace MoaGateway.Providers;

/// <summary>
/// The one place a provider's credentials join a request, first in the provider's handler chain, so the SDK's calls,
/// pass-through and readiness probes are authenticated alike: the provider's key as a Bearer token, and its configured
/// headers. A keyless provider gets no Authorization at all, neither the SDK's placeholder credential nor anything else.
/// </summary>
internal sealed class ProviderAuthHandler(string? apiKey, IReadOnlyDictionary<string, string> headers, HttpMessageHandler inner)
    : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = apiKey is null ? null : new("Bearer", apiKey);
        foreach (var (name, value) in headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
