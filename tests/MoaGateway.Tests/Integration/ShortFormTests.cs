using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Models written in the short forms, as a JSON file a person writes: agents as <c>provider/model</c> strings,
/// settings once in AgentDefaults, and aliases (no layers) with fallbacks. Read from what the fake upstream received.
/// </summary>
public sealed class ShortFormTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("moagateway-short-").FullName, "models.json");
        File.WriteAllText(file, """
            {
              "MoaGateway": {
                "Models": {
                  "mixture": {
                    "AgentDefaults": { "Temperature": 0.3, "MaxTokens": 64 },
                    "Layers": [ { "Agents": [ "fake/meta-llama/p1", { "Provider": "fake", "Model": "p2", "Temperature": 1.1 } ] } ],
                    "Aggregator": "fake/agg",
                    "AggregatorFallbacks": [ "fake/agg-fallback" ]
                  },
                  "gpt-4o": { "Aggregator": "fake/gpt-4o", "AggregatorFallbacks": [ "fake/backup" ] }
                }
              }
            }
            """);
        return new GatewaySettings().Provider("fake", upstream).Set("MOAGATEWAY_CONFIG", file);
    }

    [Fact]
    public async Task String_agents_reach_the_upstream_with_their_models_AgentDefaults()
    {
        using var response = await AskAsync("mixture");
        response.EnsureSuccessStatusCode();

        // Split at the first slash: the model id keeps its own.
        AssertSettings(Assert.Single(Upstream.RequestsFor("meta-llama/p1")), 0.3, 64);
        // An agent's own setting wins; the rest comes from the defaults.
        AssertSettings(Assert.Single(Upstream.RequestsFor("p2")), 1.1, 64);
        AssertSettings(Assert.Single(Upstream.RequestsFor("agg")), 0.3, 64);
        Assert.Empty(Upstream.RequestsFor("agg-fallback"));
    }

    [Fact]
    public async Task A_fallback_written_as_a_string_gets_the_AgentDefaults_too()
    {
        Upstream.Reply("agg", new FakeReply { Status = 500 });

        using var response = await AskAsync("mixture");
        response.EnsureSuccessStatusCode();

        AssertSettings(Assert.Single(Upstream.RequestsFor("agg-fallback")), 0.3, 64);
    }

    [Fact]
    public async Task An_alias_makes_exactly_one_upstream_call_with_the_conversation_unchanged()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "gpt-4o",
            messages = new object[] { new { role = "system", content = "You are terse." }, new { role = "user", content = "Hi" } },
        });
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeUpstream.DefaultText("gpt-4o"), answer["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var call = Assert.Single(Upstream.Requests);
        Assert.Equal("gpt-4o", call.Model);
        Assert.Equal("""[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi"}]""", call.Messages.ToJsonString());
        Assert.Equal(1, answer["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_alias_falls_back_in_order_when_its_model_fails()
    {
        Upstream.Reply("gpt-4o", new FakeReply { Status = 503 });

        using var response = await AskAsync("gpt-4o");
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeUpstream.DefaultText("backup"), answer["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        // The failing model was retried (two retries by default), then the fallback answered once.
        Assert.Equal(["gpt-4o", "gpt-4o", "gpt-4o", "backup"], Upstream.Requests.Select(request => request.Model));
    }

    [Fact]
    public async Task Models_lists_an_alias_with_its_fallbacks_and_one_upstream_call()
    {
        var card = JsonNode.Parse(await Gateway.Http.GetStringAsync("/v1/models/gpt-4o"))!["moa"]!;

        Assert.Empty(card["layers"]!.AsArray());
        Assert.Equal("fake/gpt-4o", card["aggregator"]!.GetValue<string>());
        Assert.Equal(["fake/backup"], card["aggregator_fallbacks"]!.AsArray().Select(name => name!.GetValue<string>()));
        Assert.Equal(1, card["upstream_calls"]!.GetValue<int>());
    }

    private Task<HttpResponseMessage> AskAsync(string model) =>
        Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Hi" } } });

    private static void AssertSettings(RecordedRequest request, double temperature, int maxTokens)
    {
        Assert.Equal(temperature, request.Json["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(maxTokens, request.Json["max_tokens"]!.GetValue<int>());
    }
}
