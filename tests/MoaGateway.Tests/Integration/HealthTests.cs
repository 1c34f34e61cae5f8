using System.Net;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

public sealed class HealthTests
{
    [Fact]
    public async Task Liveness_and_readiness_answer_without_touching_providers_by_default()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", upstream).Model("m", [["a"]], "agg"));

        using var live = await gateway.Http.GetAsync("/healthz");
        using var ready = await gateway.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("healthy", JsonNode.Parse(await live.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Readiness_fails_naming_an_unreachable_provider_when_probing_is_on()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Set("MoaGateway:Providers:gone:BaseUrl", "http://127.0.0.1:9/v1")
            .Model("m", [["a"]], "agg")
            .Set("MoaGateway:Readiness:ProbeProviders", "true"));

        using var ready = await gateway.Http.GetAsync("/readyz");
        var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var description = body["checks"]!["providers"]!["description"]!.GetValue<string>();
        Assert.Contains("gone: unreachable", description, StringComparison.Ordinal);
        Assert.DoesNotContain("fake", description, StringComparison.Ordinal);
    }
}
