using System.Net;
using Microsoft.AspNetCore.Http;
using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using MoaGateway.Providers;

namespace MoaGateway.Tests.Unit;

public sealed class RelayedHeadersTests
{
    private const string Key = "sk-headers-test-5e1f";

    [Fact]
    public void Hop_by_hop_cors_and_length_headers_stay_behind_and_the_key_is_redacted_wherever_it_is()
    {
        using var provider = new Provider("p", new ProviderOptions { BaseUrl = "http://127.0.0.1:9/v1" }, Key, simulatedBecause: null, new SocketsHttpHandler(), TimeProvider.System);
        using var upstream = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        upstream.Headers.TryAddWithoutValidation("x-request-id", "up-1");
        upstream.Headers.TryAddWithoutValidation("x-debug-authorization", $"Bearer {Key}");
        upstream.Headers.TryAddWithoutValidation("Connection", "keep-alive");
        upstream.Headers.TryAddWithoutValidation("Access-Control-Allow-Origin", "*");
        upstream.Content.Headers.ContentLength = 2;
        var relayed = new HeaderDictionary();

        RelayedHeaders.Copy(upstream, relayed, provider);

        Assert.Equal("up-1", relayed["x-request-id"]);
        Assert.Equal("Bearer [redacted]", relayed["x-debug-authorization"]);
        Assert.StartsWith("text/plain", relayed["Content-Type"].ToString(), StringComparison.Ordinal);
        Assert.False(relayed.ContainsKey("Connection"));
        Assert.False(relayed.ContainsKey("Access-Control-Allow-Origin"));
        Assert.Null(relayed.ContentLength);
    }
}
