using System.Net;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Models;

namespace MoaGateway.Tests.Integration;

public sealed class ModelsTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings()
            .Provider("fake", upstream)
            .Model("moa", [["a", "b"], ["a", "b"]], "agg")
            .Model("moa-lite", [["a", "b"]], "agg-lite")
            .Set("MoaGateway:Models:moa-lite:Description", "The cheap one");
    }

    [Fact]
    public async Task Sdk_lists_the_virtual_models()
    {
        var client = new OpenAIModelClient(
            new System.ClientModel.ApiKeyCredential("unused"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(Gateway.BaseAddress, "/v1") });

        OpenAIModelCollection models = await client.GetModelsAsync();

        Assert.Equal(["moa", "moa-lite"], models.Select(m => m.Id));
        Assert.All(models, m => Assert.Equal("moagateway", m.OwnedBy));
    }

    [Fact]
    public async Task A_model_describes_its_layers_and_aggregator()
    {
        var model = JsonNode.Parse(await Gateway.Http.GetStringAsync("/v1/models/moa-lite"))!;

        Assert.Equal("model", model["object"]!.GetValue<string>());
        Assert.Equal("moa-lite", model["id"]!.GetValue<string>());
        var moa = model["moa"]!;
        Assert.Equal("The cheap one", moa["description"]!.GetValue<string>());
        Assert.Equal("fake/agg-lite", moa["aggregator"]!.GetValue<string>());
        Assert.Equal(3, moa["upstream_calls"]!.GetValue<int>());
        Assert.Equal(["fake/a", "fake/b"], moa["layers"]![0]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.False(moa["simulated"]!.GetValue<bool>());
        Assert.False(moa.AsObject().ContainsKey("samples"), "a model without sampled agents lists no samples");
    }

    [Fact]
    public async Task Unknown_model_id_gets_404_model_not_found()
    {
        using var response = await Gateway.Http.GetAsync("/v1/models/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }
}
