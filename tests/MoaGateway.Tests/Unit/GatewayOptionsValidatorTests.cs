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
}
