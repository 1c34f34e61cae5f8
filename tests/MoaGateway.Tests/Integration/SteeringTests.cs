using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// A request's <c>moa</c> object replacing parts of its virtual model, with overrides enabled, as the recording fake
/// upstream sees it: which models are called, with what, and what is refused before any call.
/// </summary>
public sealed class SteeringTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Provider("other", upstream)
        .Model("base", [["p1", "p2"]], "agg")
        .Set("MoaGateway:Models:base:AgentDefaults:Temperature", "0.3")
        .Set("MoaGateway:Models:base:AgentDefaults:MaxTokens", "64")
        .Set("MoaGateway:Models:base:AggregatorFallbacks:0", "fake/backup")
        .Set("MoaGateway:Overrides:Enabled", "true")
        .Set("MoaGateway:Overrides:AllowedModels:0", "fake/*");

    private static JsonObject Chat(JsonNode? moa, string model = "base") => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
        ["moa"] = moa,
    };

    private async Task<(HttpStatusCode Status, JsonNode Body)> AskAsync(JsonObject body)
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", body);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static IEnumerable<string> Models(JsonNode body, int layer) =>
        body["usage"]!["moa"]!["layers"]![layer]!["agents"]!.AsArray().Select(agent => agent!["model"]!.GetValue<string>());

    [Fact]
    public async Task An_override_calls_exactly_the_agents_and_aggregator_it_names_and_the_aggregator_receives_their_answers()
    {
        var (status, body) = await AskAsync(Chat(JsonNode.Parse("""
            { "layers": [ { "agents": [ "fake/x1", { "model": "fake/x2", "temperature": 1.1, "max_tokens": 9 } ], "min_agents": 2 } ],
              "aggregator": "fake/y" }
            """)));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["x1", "x2", "y"], Upstream.Requests.Select(request => request.Model).Order());
        var aggregator = Assert.Single(Upstream.RequestsFor("y"));
        Assert.EndsWith("Responses from models:\n1. answer from x1\n2. answer from x2", aggregator.SystemText, StringComparison.Ordinal);
        Assert.Equal(FakeUpstream.DefaultText("y"), body["choices"]![0]!["message"]!["content"]!.GetValue<string>());

        // The agents of an override take the model's AgentDefaults where they set nothing of their own.
        var x1 = Assert.Single(Upstream.RequestsFor("x1")).Json;
        var x2 = Assert.Single(Upstream.RequestsFor("x2")).Json;
        Assert.Equal((0.3, 64), (x1["temperature"]!.GetValue<double>(), x1["max_tokens"]!.GetValue<int>()));
        Assert.Equal((1.1, 9), (Math.Round(x2["temperature"]!.GetValue<double>(), 3), x2["max_tokens"]!.GetValue<int>()));

        // usage.moa reports the topology that ran, and the moa object reaches no upstream.
        Assert.Equal(["x1", "x2"], Models(body, 0));
        Assert.Equal("y", body["usage"]!["moa"]!["aggregator"]!["model"]!.GetValue<string>());
        Assert.Equal(3, body["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
        Assert.All(Upstream.Requests, request => Assert.False(request.Json.ContainsKey("moa")));
    }

    [Fact]
    public async Task Only_the_parts_given_are_replaced_and_the_rest_is_the_configured_model()
    {
        Upstream.Reply("agg", new FakeReply { Status = 500 });

        var (status, body) = await AskAsync(Chat(JsonNode.Parse("""{ "aggregator_fallbacks": [ "fake/z" ], "aggregate_prompt": "Vote." }""")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["p1", "p2"], Models(body, 0));
        Assert.StartsWith("Vote.\n\nResponses from models:", Upstream.RequestsFor("agg")[0].SystemText, StringComparison.Ordinal);
        // The configured aggregator failed (retried twice), then the request's fallback answered, not the configured one.
        Assert.Single(Upstream.RequestsFor("z"));
        Assert.Empty(Upstream.RequestsFor("backup"));
        Assert.Equal("z", body["usage"]!["moa"]!["aggregator"]!["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a" ] }, { "agents": [ "fake/a" ] }, { "agents": [ "fake/a" ] }, { "agents": [ "fake/a" ] } ] }""", "moa.layers", "override_limit_exceeded")]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a", "fake/b", "fake/c", "fake/d", "fake/e", "fake/f", "fake/g", "fake/h", "fake/i" ] } ] }""", "moa.layers[0].agents", "override_limit_exceeded")]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a", { "model": "fake/s", "samples": 18 } ] } ] }""", "moa.layers[0].agents[1].samples", "override_limit_exceeded")]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a", "other/b" ] } ] }""", "moa.layers[0].agents[1]", "model_not_allowed")]
    [InlineData("""{ "aggregator": { "provider": "other", "model": "big" } }""", "moa.aggregator", "model_not_allowed")]
    [InlineData("""{ "aggregator_fallbacks": [ "other/spare" ] }""", "moa.aggregator_fallbacks[0]", "model_not_allowed")]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a" ], "quorom": 1 } ] }""", "moa.layers[0].quorom", "unknown_parameter")]
    [InlineData("""{ "layers": [ { "agents": [ "nowhere/a" ] } ] }""", "moa.layers[0].agents[0]", null)]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "fake/s", "samples": 0 } ] } ] }""", "moa.layers[0].agents[0].samples", null)]
    [InlineData("""{ "layers": [ { "agents": [ "fake/a" ], "min_agents": 2 } ] }""", "moa.layers[0].min_agents", null)]
    [InlineData("""{ "aggregator": 42 }""", "moa.aggregator", null)]
    [InlineData("""[ "layers" ]""", "moa", null)]
    public async Task A_refused_override_gets_400_naming_the_field_before_any_upstream_call(string moa, string param, string? code)
    {
        var (status, body) = await AskAsync(Chat(JsonNode.Parse(moa)));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
        Assert.Equal(code, body["error"]!["code"]?.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task The_responses_api_takes_the_same_moa_object_and_refuses_it_the_same_way()
    {
        using var answered = await Gateway.Http.PostAsJsonAsync("/v1/responses", JsonNode.Parse("""
            { "model": "base", "input": "Hi", "moa": { "layers": [ { "agents": [ { "model": "fake/s", "samples": 2 } ] } ], "aggregator": "fake/y" } }
            """));
        var body = JsonNode.Parse(await answered.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(FakeUpstream.DefaultText("y"), body["output_text"]!.GetValue<string>());
        Assert.Equal(["s", "s", "y"], Upstream.Requests.Select(request => request.Model).Order());
        Assert.All(Upstream.Requests, request => Assert.False(request.Json.ContainsKey("moa")));
        var calls = Upstream.Requests.Count;

        using var refused = await Gateway.Http.PostAsJsonAsync("/v1/responses", JsonNode.Parse("""
            { "model": "base", "input": "Hi", "moa": { "layers": [ { "agents": [ "other/x" ] } ] } }
            """));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(("model_not_allowed", "moa.layers[0].agents[0]"), (error["code"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        Assert.Equal(calls, Upstream.Requests.Count);
    }

    [Fact]
    public async Task A_moa_object_for_a_pass_through_model_is_refused_without_reaching_the_provider()
    {
        var (status, body) = await AskAsync(Chat(JsonNode.Parse("{}"), model: "fake/p1"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("moa", body["error"]!["param"]!.GetValue<string>());
        Assert.Contains("applies to virtual models only", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Samples_3_make_three_concurrent_calls_with_distinct_seeds_and_three_numbered_references()
    {
        var release = new TaskCompletionSource();
        // Each sample holds after its first token until all three are in flight: called one after another, they never would be.
        Upstream.Reply("s", new FakeReply { HoldAfterFirstToken = release.Task });

        var answer = AskAsync(Chat(JsonNode.Parse("""{ "layers": [ { "agents": [ { "model": "fake/s", "samples": 3 } ] } ] }""")));
        await Eventually.True(() => Upstream.RequestsFor("s").Count == 3);
        release.SetResult();
        var (status, body) = await answer;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, Upstream.MaxConcurrentRequests);
        var seeds = Upstream.RequestsFor("s").Select(request => request.Json["seed"]!.GetValue<long>()).Order().ToList();
        Assert.Equal(3, seeds.Distinct().Count());
        Assert.EndsWith(
            $"Responses from models:\n1. answer from s (seed {seeds[0]})\n2. answer from s (seed {seeds[1]})\n3. answer from s (seed {seeds[2]})",
            Assert.Single(Upstream.RequestsFor("agg")).SystemText,
            StringComparison.Ordinal);

        // Each sample its own entry, with its index and seed.
        var entries = body["usage"]!["moa"]!["layers"]![0]!["agents"]!.AsArray();
        Assert.Equal([0, 1, 2], entries.Select(entry => entry!["sample"]!.GetValue<int>()));
        Assert.All(entries, entry => Assert.Equal(0, entry!["agent"]!.GetValue<int>()));
        Assert.Equal(seeds, entries.Select(entry => entry!["seed"]!.GetValue<long>()).Order());
        Assert.Equal(4, body["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task Sample_seeds_follow_the_clients_seed_so_a_request_can_be_repeated()
    {
        var body = Chat(JsonNode.Parse("""{ "layers": [ { "agents": [ "fake/a", { "model": "fake/s", "samples": 2 } ] } ] }"""));
        body["seed"] = 100;

        var (status, _) = await AskAsync(body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([101L, 102L], Upstream.RequestsFor("s").Select(request => request.Json["seed"]!.GetValue<long>()).Order());
        Assert.False(Upstream.RequestsFor("a")[0].Json.ContainsKey("seed"), "an agent without samples gets no seed");
        Assert.Equal(100, Upstream.RequestsFor("agg")[0].Json["seed"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_official_sdk_sends_the_moa_object_through_its_json_patch()
    {
        var options = new ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send a field its model types do not have.
        options.Patch.Set("$.moa"u8, BinaryData.FromString("""{ "layers": [ { "agents": [ "fake/x1" ] } ], "aggregator": "fake/y" }"""));
#pragma warning restore SCME0001

        ChatCompletion answer = await Gateway.ChatClient("base").CompleteChatAsync([new UserChatMessage("Hi")], options);

        Assert.Equal(FakeUpstream.DefaultText("y"), answer.Content[0].Text);
        Assert.Equal(["x1", "y"], Upstream.Requests.Select(request => request.Model).Order());
    }

    [Fact]
    public async Task Overrides_are_off_by_default_and_a_topology_field_gets_403()
    {
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", Upstream).Model("base", [["p1"]], "agg"));

        using var refused = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat(JsonNode.Parse("""{ "layers": [ { "agents": [ "fake/x" ] } ] }""")));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(("overrides_not_allowed", "moa.layers"), (error["code"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        Assert.Empty(Upstream.Requests);

        // A moa object that replaces nothing is no override.
        using var plain = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat(JsonNode.Parse("{}")));
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
    }

    [Fact]
    public async Task A_client_keys_AllowedModels_apply_to_the_models_an_override_names()
    {
        const string key = "sk-client-steer-31c7";
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", Upstream)
            .Model("base", [["p1"]], "agg")
            .Set("MoaGateway:Overrides:Enabled", "true")
            .Auth("team", key, "base", "fake/x1"));
        gateway.Http.DefaultRequestHeaders.Authorization = new("Bearer", key);

        using var allowed = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat(JsonNode.Parse("""{ "layers": [ { "agents": [ "fake/x1" ] } ] }""")));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        var calls = Upstream.Requests.Count;

        using var refused = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat(JsonNode.Parse("""{ "layers": [ { "agents": [ "fake/x1", "fake/x2" ] } ] }""")));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(("model_not_allowed", "moa.layers[0].agents[1]"), (error["code"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        Assert.Equal(calls, Upstream.Requests.Count);
    }
}
