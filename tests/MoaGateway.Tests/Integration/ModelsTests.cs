using System.Net;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Models;

namespace MoaGateway.Tests.Integration;

public sealed class ModelsTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return Providers(new GatewaySettings(), upstream)
            .Model("moa", [["a", "b"], ["a", "b"]], "agg")
            .Model("moa-lite", [["a", "b"]], "agg-lite")
            .Set("MoaGateway:Models:moa-lite:Description", "The cheap one");
    }

    [Fact]
    public async Task Sdk_lists_the_virtual_models_then_the_models_each_provider_lists()
    {
        OpenAIModelCollection models = await Gateway.Client().GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal(["moa", "moa-lite", "fake/Qwen/Qwen2.5-72B-Instruct", "fake/agg", "other/m1", "sim/sim-1"], models.Select(m => m.Id));
        Assert.Equal(["moagateway", "moagateway", "fake", "fake", "other", "sim (simulated)"], models.Select(m => m.OwnedBy));
    }

    [Fact]
    public async Task A_provider_model_is_a_plain_openai_model_object()
    {
        var list = JsonNode.Parse(await Gateway.Http.GetStringAsync("/v1/models"))!;

        var model = list["data"]!.AsArray().Single(m => m!["id"]!.GetValue<string>() == "fake/agg")!.AsObject();
        Assert.Equal(["object", "id", "created", "owned_by"], model.Select(property => property.Key));
        Assert.Equal("model", model["object"]!.GetValue<string>());
        Assert.True(model["created"]!.GetValue<long>() > 1_700_000_000);
    }

    [Theory]
    [InlineData("/v1/models/fake/Qwen/Qwen2.5-72B-Instruct", "fake/Qwen/Qwen2.5-72B-Instruct")]
    [InlineData("/v1/models/fake%2FQwen%2FQwen2.5-72B-Instruct", "fake/Qwen/Qwen2.5-72B-Instruct")]
    [InlineData("/v1/models/fake%2fagg", "fake/agg")]
    [InlineData("/v1/models/FAKE/agg", "fake/agg")]
    public async Task A_provider_model_is_retrieved_by_its_id_slashes_plain_or_escaped(string path, string id)
    {
        var model = JsonNode.Parse(await Gateway.Http.GetStringAsync(path))!;

        Assert.Equal(id, model["id"]!.GetValue<string>());
        Assert.Equal("fake", model["owned_by"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sdk_retrieves_a_provider_model_whose_id_has_slashes()
    {
        OpenAIModel model = await Gateway.Client().GetOpenAIModelClient().GetModelAsync("fake/Qwen/Qwen2.5-72B-Instruct");

        Assert.Equal("fake/Qwen/Qwen2.5-72B-Instruct", model.Id);
    }

    [Fact]
    public async Task A_model_its_provider_does_not_list_gets_404_naming_the_list()
    {
        using var response = await Gateway.Http.GetAsync("/v1/models/fake/unlisted");

        var error = await ErrorAsync(response, HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", error["code"]!.GetValue<string>());
        Assert.Contains("MoaGateway:Providers:fake:Models", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_without_its_key_lists_no_models_and_its_model_answers_503()
    {
        var ids = JsonNode.Parse(await Gateway.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        using var response = await Gateway.Http.GetAsync("/v1/models/keyless/k1");

        Assert.DoesNotContain("keyless/k1", ids);
        Assert.Equal("provider_unavailable", (await ErrorAsync(response, HttpStatusCode.ServiceUnavailable))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_client_key_sees_and_retrieves_only_the_models_it_may_use()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Auth("narrow", "sk-client-narrow", "moa-lite", "fake/agg", "other/*"));

        OpenAIModelCollection models = await gateway.Client("sk-client-narrow").GetOpenAIModelClient().GetModelsAsync();
        using var hidden = await GetAsync(gateway, "/v1/models/fake/Qwen/Qwen2.5-72B-Instruct", "sk-client-narrow");
        using var allowed = await GetAsync(gateway, "/v1/models/fake/agg", "sk-client-narrow");

        Assert.Equal(["moa-lite", "fake/agg", "other/m1"], models.Select(m => m.Id));
        Assert.Equal("model_not_found", (await ErrorAsync(hidden, HttpStatusCode.NotFound))["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
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

    /// <summary>
    /// Providers with model lists: <c>fake</c> and <c>other</c> at the fake, <c>sim</c> simulated, <c>keyless</c>
    /// without its key (and needed by no virtual model, so the gateway starts without it).
    /// </summary>
    private static GatewaySettings Providers(GatewaySettings settings, FakeUpstream upstream) => settings
        .Provider("fake", upstream)
        .Set("MoaGateway:Providers:fake:Models:0", "Qwen/Qwen2.5-72B-Instruct")
        .Set("MoaGateway:Providers:fake:Models:1", "agg")
        .Provider("other", upstream)
        .Set("MoaGateway:Providers:other:Models:0", "m1")
        .Set("MoaGateway:Providers:sim:Type", "simulated")
        .Set("MoaGateway:Providers:sim:Models:0", "sim-1")
        .Set("MoaGateway:Providers:keyless:BaseUrl", upstream.BaseUrl)
        .Set("MoaGateway:Providers:keyless:ApiKeyEnv", $"MOA_TEST_UNSET_{Guid.NewGuid():N}")
        .Set("MoaGateway:Providers:keyless:Models:0", "k1");

    private static async Task<HttpResponseMessage> GetAsync(GatewayHost gateway, string path, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", key);
        return await gateway.Http.SendAsync(request);
    }

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
    }
}
