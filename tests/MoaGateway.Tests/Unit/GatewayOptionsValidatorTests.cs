using MoaGateway.Configuration;

namespace MoaGateway.Tests.Unit;

public sealed class GatewayOptionsValidatorTests
{
    internal static GatewayOptions Valid() => new()
    {
        Providers = { ["p"] = new ProviderOptions { BaseUrl = "http://127.0.0.1:9000/v1" } },
        Models =
        {
            ["m"] = new VirtualModelOptions
            {
                Layers = { new LayerOptions { Agents = { new AgentOptions { Provider = "p", Model = "a" } } } },
                Aggregator = new AgentOptions { Provider = "p", Model = "agg" },
            },
        },
    };

    private static List<string> Failures(GatewayOptions options) =>
        new GatewayOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void A_complete_configuration_is_valid() => Assert.Empty(Failures(Valid()));

    [Fact]
    public void Unknown_provider_is_named_with_its_key_and_the_known_ones()
    {
        var options = Valid();
        options.Models["m"].Layers[0].Agents[0].Provider = "q";

        Assert.Equal(["MoaGateway:Models:m:Layers:0:Agents:0:Provider 'q' is not a configured provider (known: p)."], Failures(options));
    }

    [Fact]
    public void Empty_layer_is_named()
    {
        var options = Valid();
        options.Models["m"].Layers.Add(new LayerOptions());

        Assert.Equal(["MoaGateway:Models:m:Layers:1:Agents is empty: every layer needs at least one agent."], Failures(options));
    }

    [Fact]
    public void Model_without_an_aggregator_is_named()
    {
        var options = Valid();
        options.Models["m"] = new VirtualModelOptions();

        Assert.Equal(
            ["MoaGateway:Models:m:Aggregator is missing: a virtual model needs an aggregator (with no Layers, the model is an alias of it)."],
            Failures(options));
    }

    [Fact]
    public void A_model_without_layers_is_a_valid_alias_but_an_aggregate_prompt_on_it_is_named()
    {
        var options = Valid();
        options.Models["alias"] = new VirtualModelOptions { Aggregator = new AgentOptions { Provider = "p", Model = "big" } };
        Assert.Empty(Failures(options));

        options.Models["alias"].AggregatePrompt = "Synthesize.";
        Assert.Equal(
            ["MoaGateway:Models:alias:AggregatePrompt has no effect: a model without Layers is an alias, whose aggregator gets the conversation unchanged."],
            Failures(options));
    }

    [Fact]
    public void Out_of_range_agent_defaults_are_named()
    {
        var options = Valid();
        options.Models["m"].AgentDefaults.Temperature = 2.5f;
        options.Models["m"].AgentDefaults.TimeoutSeconds = 0;

        Assert.Equal(
            ["MoaGateway:Models:m:AgentDefaults:Temperature must be between 0 and 2.", "MoaGateway:Models:m:AgentDefaults:TimeoutSeconds must be greater than 0."],
            Failures(options));
    }

    [Theory]
    [InlineData("ftp://example.com/v1")]
    [InlineData("example.com/v1")]
    public void Bad_base_url_is_named(string url)
    {
        var options = Valid();
        options.Providers["p"].BaseUrl = url;

        Assert.Equal([$"MoaGateway:Providers:p:BaseUrl '{url}' is not an absolute http(s) URL."], Failures(options));
    }

    [Fact]
    public void Missing_base_url_is_required_except_for_simulated_providers()
    {
        var options = Valid();
        options.Providers["p"].BaseUrl = null;
        Assert.Equal(["MoaGateway:Providers:p:BaseUrl is required."], Failures(options));

        options.Providers["p"].Type = ProviderTypes.Simulated;
        Assert.Empty(Failures(options));
    }

    [Fact]
    public void Out_of_range_agent_settings_are_named()
    {
        var options = Valid();
        options.Models["m"].Aggregator!.Temperature = 3;
        options.Models["m"].Aggregator!.MaxTokens = 0;

        Assert.Equal(
            ["MoaGateway:Models:m:Aggregator:Temperature must be between 0 and 2.", "MoaGateway:Models:m:Aggregator:MaxTokens must be at least 1."],
            Failures(options));
    }

    [Fact]
    public void Virtual_model_ids_cannot_look_like_pass_through_names()
    {
        var options = Valid();
        options.Models["team/m"] = options.Models["m"];

        Assert.Contains(Failures(options), f => f.StartsWith("MoaGateway:Models:team/m: a virtual model id cannot contain '/'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_agent_object_may_write_its_model_as_provider_slash_model()
    {
        var options = Valid();
        options.Models["m"].Layers[0].Agents[0] = new AgentOptions { Model = "p/org/a", Samples = 3 };
        Assert.Empty(Failures(options));

        options.Models["m"].Layers[0].Agents[0] = new AgentOptions { Model = "nope/a" };
        options.Models["m"].Aggregator = new AgentOptions { Model = "agg" };
        Assert.Equal(
        [
            "MoaGateway:Models:m:Layers:0:Agents:0 names provider 'nope', which is not configured (known: p).",
            "MoaGateway:Models:m:Aggregator:Provider is required, unless Model is '<provider>/<model>'.",
        ], Failures(options));
    }

    [Fact]
    public void Samples_are_counted_as_answers_of_the_layer_and_refused_on_the_aggregator()
    {
        var options = Valid();
        var layer = options.Models["m"].Layers[0];
        layer.Agents[0].Samples = 3;
        layer.MinAgents = 3;
        layer.Quorum = 3;
        Assert.Empty(Failures(options));

        layer.Agents[0].Samples = 0;
        layer.Quorum = 4;
        options.Models["m"].Aggregator!.Samples = 2;
        Assert.Equal(
        [
            "MoaGateway:Models:m:Layers:0:Agents:0:Samples must be between 1 and 100.",
            "MoaGateway:Models:m:Layers:0:MinAgents must be between 1 and the layer's 1 agents.",
            "MoaGateway:Models:m:Layers:0:Quorum must be between MinAgents (3) and the layer's 1 agents.",
            "MoaGateway:Models:m:Aggregator:Samples applies to proposers only: the aggregator answers once, and its fallbacks only when it fails.",
        ], Failures(options));
    }

    [Fact]
    public void A_reference_cap_below_one_is_named()
    {
        var options = Valid();
        options.Models["m"].MaxReferenceCharacters = 0;

        Assert.Equal(["MoaGateway:Models:m:MaxReferenceCharacters must be at least 1."], Failures(options));
    }

    [Fact]
    public void Override_limits_and_models_that_cannot_work_are_named()
    {
        var options = Valid();
        options.Overrides.MaxLayers = 0;
        options.Overrides.MaxUpstreamCalls = -1;
        options.Overrides.AllowedModels.AddRange(["p/*", "m", "q/x"]);

        Assert.Equal(
        [
            "MoaGateway:Overrides:MaxLayers must be greater than 0.",
            "MoaGateway:Overrides:MaxUpstreamCalls must be greater than 0.",
            "MoaGateway:Overrides:AllowedModels:1 'm' is not '<provider>/<model>' or '<provider>/*': the agents of an override are upstream models.",
            "MoaGateway:Overrides:AllowedModels:2 'q/x' names provider 'q', which is not configured (known: p).",
        ], Failures(options));
    }

    [Theory]
    [InlineData("always")]
    [InlineData("Never")]
    [InlineData("")]
    public void A_panel_exposure_other_than_on_request_or_never_is_named(string expose)
    {
        var options = Valid();
        options.Panel.Expose = expose;

        Assert.Equal([$"MoaGateway:Panel:Expose '{expose}' is not supported: use 'on-request' or 'never'."], Failures(options));
    }
}
