using System.Text.Json;
using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Security;

namespace MoaGateway.Tests.Unit;

/// <summary>The <c>moa</c> object read, checked and merged into the configured virtual model, without a server.</summary>
public sealed class MoaExtensionTests
{
    private static GatewayOptions Options(bool enabled = true)
    {
        var options = new GatewayOptions { Overrides = { Enabled = enabled } };
        options.Providers["p"] = new ProviderOptions { BaseUrl = "http://p.example/v1" };
        options.Providers["q"] = new ProviderOptions { BaseUrl = "http://q.example/v1" };
        options.Models["m"] = new VirtualModelOptions
        {
            AgentDefaults = { Temperature = 0.3f, MaxTokens = 64 },
            Layers = [new LayerOptions { Agents = [AgentOptions.Parse("p/a1")!, AgentOptions.Parse("p/a2")!] }],
            Aggregator = AgentOptions.Parse("p/agg"),
            AggregatorFallbacks = [AgentOptions.Parse("p/backup")!],
            AggregatePrompt = "Combine.",
        };
        return options;
    }

    private static VirtualModel Configured(GatewayOptions options) => VirtualModelResolver.Resolve("m", options.Models["m"]);

    private static (VirtualModel? Model, OpenAiError? Error) Read(string moa, GatewayOptions? options = null, ClientKey? key = null)
    {
        options ??= Options();
        using var document = JsonDocument.Parse(moa);
        var extension = MoaExtension.Read(document.RootElement, Configured(options), options, key, out var error);
        return (extension?.Model, error);
    }

    private static OpenAiError Refused(string moa, GatewayOptions? options = null, ClientKey? key = null)
    {
        var (model, error) = Read(moa, options, key);
        Assert.Null(model);
        return error!;
    }

    [Fact]
    public void An_object_without_topology_runs_the_configured_model_as_it_is()
    {
        var options = Options();
        using var document = JsonDocument.Parse("{}");
        var configured = Configured(options);

        var extension = MoaExtension.Read(document.RootElement, configured, options, null, out var error);

        Assert.Null(error);
        Assert.Same(configured, extension!.Model);
    }

    [Fact]
    public void Layers_replace_every_layer_and_their_agents_take_the_models_AgentDefaults()
    {
        var (model, error) = Read("""
            { "layers": [ { "agents": [ "q/x1", { "model": "q/x2", "temperature": 1.1, "max_tokens": 9 }, { "provider": "p", "model": "org/x3" } ],
                            "min_agents": 2, "quorum": 3, "straggler_grace_ms": 250 } ] }
            """);

        Assert.Null(error);
        var layer = Assert.Single(model!.Layers);
        Assert.Equal(
            [new AgentSpec("q", "x1", 0.3f, 64), new AgentSpec("q", "x2", 1.1f, 9), new AgentSpec("p", "org/x3", 0.3f, 64)],
            layer.Agents);
        Assert.Equal((2, 3, TimeSpan.FromMilliseconds(250)), (layer.MinAgents, layer.Quorum, layer.StragglerGrace!.Value));
        // What the request did not give is the configured model's.
        Assert.Equal(["p/agg", "p/backup"], model.Aggregators.Select(agent => agent.ToString()));
        Assert.Equal("Combine.", model.AggregatePrompt);
    }

    [Fact]
    public void The_aggregator_its_fallbacks_the_prompt_and_the_reference_cap_are_replaced_one_by_one()
    {
        var (model, error) = Read("""
            { "aggregator": { "model": "q/big", "max_tokens": 2048 }, "aggregator_fallbacks": [ "q/spare" ],
              "aggregate_prompt": "Vote.", "max_reference_characters": 500 }
            """);

        Assert.Null(error);
        Assert.Equal([new AgentSpec("q", "big", 0.3f, 2048), new AgentSpec("q", "spare", 0.3f, 64)], model!.Aggregators);
        Assert.Equal("Vote.", model.AggregatePrompt);
        Assert.Equal(500, model.MaxReferenceCharacters);
        Assert.Equal(["p/a1", "p/a2"], model.Layers[0].Agents.Select(agent => agent.ToString()));
    }

    [Fact]
    public void Samples_are_calls_of_the_agent_counted_in_the_models_upstream_calls()
    {
        var (model, error) = Read("""{ "layers": [ { "agents": [ "p/a1", { "model": "q/s", "samples": 3 } ], "quorum": 4 } ] }""");

        Assert.Null(error);
        Assert.Equal(3, model!.Layers[0].Agents[1].Samples);
        Assert.Equal(5, model.UpstreamCallCount);
    }

    [Fact]
    public void Taking_every_layer_away_makes_an_alias_without_the_configured_prompt()
    {
        var (model, error) = Read("""{ "layers": [], "aggregator": "q/one" }""");

        Assert.Null(error);
        Assert.True(model!.IsAlias);
        Assert.Equal(AggregatePrompt.Default, model.AggregatePrompt);
    }

    [Theory]
    [InlineData("""{ "layers": [] }""", "moa.layers")]
    [InlineData("""{ "aggregator": "q/x" }""", "moa.aggregator")]
    [InlineData("""{ "aggregate_prompt": "Vote." }""", "moa.aggregate_prompt")]
    public void Topology_is_refused_with_403_while_overrides_are_off(string moa, string param)
    {
        var error = Refused(moa, Options(enabled: false));

        Assert.Equal((403, "overrides_not_allowed", param), (error.StatusCode, error.Code, error.Param));
    }

    [Theory]
    [InlineData("""{ "layer": [] }""", "moa.layer", "did you mean layers?")]
    [InlineData("""{ "layers": [ { "agents": [ "p/a" ], "quorom": 1 } ] }""", "moa.layers[0].quorom", "did you mean quorum?")]
    [InlineData("""{ "aggregator": { "model": "p/a", "top_k": 5 } }""", "moa.aggregator.top_k", "its fields are provider, model, temperature, max_tokens, samples.")]
    public void An_unknown_field_is_refused_by_name(string moa, string param, string hint)
    {
        var error = Refused(moa);

        Assert.Equal((400, "unknown_parameter", param), (error.StatusCode, error.Code, error.Param));
        Assert.EndsWith(hint, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[]""", "moa")]
    [InlineData("""{ "layers": {} }""", "moa.layers")]
    [InlineData("""{ "layers": [ "p/a" ] }""", "moa.layers[0]")]
    [InlineData("""{ "layers": [ { "agents": [ 7 ] } ] }""", "moa.layers[0].agents[0]")]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "p/a", "samples": "3" } ] } ] }""", "moa.layers[0].agents[0].samples")]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "p/a", "samples": 2.5 } ] } ] }""", "moa.layers[0].agents[0].samples")]
    [InlineData("""{ "aggregator": { "model": "p/a", "temperature": "hot" } }""", "moa.aggregator.temperature")]
    [InlineData("""{ "aggregate_prompt": 1 }""", "moa.aggregate_prompt")]
    public void A_value_of_the_wrong_type_is_refused_naming_it(string moa, string param)
    {
        var error = Refused(moa);

        Assert.Equal((400, param), (error.StatusCode, error.Param));
    }

    [Theory]
    [InlineData("""{ "layers": [ { "agents": [ "gpt-4o" ] } ] }""", "moa.layers[0].agents[0]", "'moa.layers[0].agents[0]' 'gpt-4o' is not an agent: write '<provider>/<model>', or an object with provider and model.")]
    [InlineData("""{ "layers": [ { "agents": [ "nope/x" ] } ] }""", "moa.layers[0].agents[0]", "'moa.layers[0].agents[0]' names provider 'nope', which is not configured (known: p, q).")]
    [InlineData("""{ "aggregator": { "provider": "nope", "model": "x" } }""", "moa.aggregator.provider", "'moa.aggregator.provider' 'nope' is not a configured provider (known: p, q).")]
    [InlineData("""{ "layers": [ { "agents": [] } ] }""", "moa.layers[0].agents", "'moa.layers[0].agents' is empty: every layer needs at least one agent.")]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "p/a", "samples": 0 } ] } ] }""", "moa.layers[0].agents[0].samples", "'moa.layers[0].agents[0].samples' must be between 1 and 100.")]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "p/a", "samples": 2147483647 }, { "model": "p/b", "samples": 2147483647 } ] } ] }""", "moa.layers[0].agents[0].samples", "'moa.layers[0].agents[0].samples' must be between 1 and 100.")]
    [InlineData("""{ "layers": [ { "agents": [ { "model": "p/a", "temperature": 2.5 } ] } ] }""", "moa.layers[0].agents[0].temperature", "'moa.layers[0].agents[0].temperature' must be between 0 and 2.")]
    [InlineData("""{ "layers": [ { "agents": [ "p/a", { "model": "p/b", "samples": 2 } ], "min_agents": 4 } ] }""", "moa.layers[0].min_agents", "'moa.layers[0].min_agents' must be between 1 and the 3 calls of the layer's agents and their samples.")]
    [InlineData("""{ "layers": [ { "agents": [ "p/a" ], "straggler_grace_ms": 100 } ] }""", "moa.layers[0].straggler_grace_ms", "'moa.layers[0].straggler_grace_ms' needs a quorum.")]
    [InlineData("""{ "aggregator": { "model": "p/a", "samples": 2 } }""", "moa.aggregator.samples", "'moa.aggregator.samples' applies to proposers only: the aggregator answers once, and its fallbacks only when it fails.")]
    [InlineData("""{ "aggregate_prompt": " " }""", "moa.aggregate_prompt", "'moa.aggregate_prompt' is blank: remove it to use the default prompt.")]
    [InlineData("""{ "max_reference_characters": 0 }""", "moa.max_reference_characters", "'moa.max_reference_characters' must be at least 1.")]
    public void The_rules_of_a_configured_model_apply_in_the_requests_words(string moa, string param, string message)
    {
        var error = Refused(moa);

        Assert.Equal((400, param, message), (error.StatusCode, error.Param, error.Message));
    }

    [Fact]
    public void More_layers_than_MaxLayers_are_refused()
    {
        var options = Options();
        options.Overrides.MaxLayers = 1;

        var error = Refused("""{ "layers": [ { "agents": [ "p/a" ] }, { "agents": [ "p/b" ] } ] }""", options);

        Assert.Equal((400, "override_limit_exceeded", "moa.layers"), (error.StatusCode, error.Code, error.Param));
        Assert.Contains("MoaGateway:Overrides:MaxLayers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_agents_in_a_layer_than_MaxAgentsPerLayer_are_refused()
    {
        var options = Options();
        options.Overrides.MaxAgentsPerLayer = 2;

        var error = Refused("""{ "layers": [ { "agents": [ "p/a" ] }, { "agents": [ "p/a", "p/b", "p/c" ] } ] }""", options);

        Assert.Equal((400, "override_limit_exceeded", "moa.layers[1].agents"), (error.StatusCode, error.Code, error.Param));
    }

    [Theory]
    // 3 agents and 3 samples, the aggregator and the configured fallback: 8 calls; the request's own part that goes beyond is named.
    [InlineData("""{ "layers": [ { "agents": [ "p/a", "p/b", "p/c", { "model": "p/s", "samples": 3 } ] } ] }""", 7, "moa.layers[0].agents[3].samples")]
    [InlineData("""{ "layers": [ { "agents": [ "p/a", "p/b", "p/c", { "model": "p/s", "samples": 3 } ] } ] }""", 8, null)]
    [InlineData("""{ "layers": [ { "agents": [ "p/a" ] } ], "aggregator_fallbacks": [ "p/f1", "p/f2" ] }""", 3, "moa.aggregator_fallbacks[1]")]
    // The configured layers (2 calls) and fallback count too when the request replaces only the aggregator.
    [InlineData("""{ "aggregator": "q/big" }""", 3, "moa.aggregator")]
    [InlineData("""{ "aggregate_prompt": "Vote." }""", 3, "moa")]
    public void Samples_the_aggregator_and_fallbacks_count_toward_MaxUpstreamCalls(string moa, int max, string? param)
    {
        var options = Options();
        options.Overrides.MaxUpstreamCalls = max;

        var (model, error) = Read(moa, options);

        Assert.Equal(param, error?.Param);
        Assert.Equal(param is null, model is not null);
        if (error is not null)
        {
            Assert.Equal("override_limit_exceeded", error.Code);
        }
    }

    [Theory]
    [InlineData("""{ "layers": [ { "agents": [ "p/a", "q/b" ] } ] }""", "moa.layers[0].agents[1]")]
    [InlineData("""{ "aggregator": { "provider": "q", "model": "big" } }""", "moa.aggregator")]
    [InlineData("""{ "aggregator_fallbacks": [ "p/a", "q/b" ] }""", "moa.aggregator_fallbacks[1]")]
    public void A_model_outside_the_overrides_AllowedModels_is_refused(string moa, string param)
    {
        var options = Options();
        options.Overrides.AllowedModels.Add("p/*");

        var error = Refused(moa, options);

        Assert.Equal((400, "model_not_allowed", param), (error.StatusCode, error.Code, error.Param));
        Assert.Contains("MoaGateway:Overrides:AllowedModels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_keys_own_AllowedModels_apply_on_top()
    {
        var key = new ClientKey("team", new byte[32], new ClientKeyOptions { AllowedModels = ["m", "P/a"] });

        Assert.Null(Read("""{ "layers": [ { "agents": [ "p/a" ] } ], "aggregator": "p/a" }""", key: key).Error);
        var error = Refused("""{ "layers": [ { "agents": [ "p/a", "p/b" ] } ] }""", key: key);

        Assert.Equal((400, "model_not_allowed", "moa.layers[0].agents[1]"), (error.StatusCode, error.Code, error.Param));
        Assert.Equal("'moa.layers[0].agents[1]' names 'p/b', which this API key is not allowed to use.", error.Message);
    }
}
