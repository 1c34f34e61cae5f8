using System.Globalization;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Moa;

namespace MoaGateway.Tests.Unit;

/// <summary>Prices as configured: which entry prices an agent, what its tokens cost, how it is rounded, and what is refused.</summary>
public sealed class PricingTests
{
    private static readonly Price Priced = new(InputPerMillion: 2.00m, OutputPerMillion: 8.00m, CachedInputPerMillion: 0.50m);

    [Fact]
    public void The_most_specific_entry_prices_an_agent_and_provider_names_match_in_any_case()
    {
        var prices = new Prices(
            [Entry("*", 9), Entry("p/*", 2), Entry("p/exact", 1), Entry("Q/Org/Model", 3)],
            simulatedProviders: []);

        Assert.Equal(1m, prices.Of(new AgentSpec("p", "exact"))!.InputPerMillion);
        Assert.Equal(2m, prices.Of(new AgentSpec("P", "other"))!.InputPerMillion);
        Assert.Equal(3m, prices.Of(new AgentSpec("q", "Org/Model"))!.InputPerMillion);
        Assert.Equal(9m, prices.Of(new AgentSpec("q", "org/model"))!.InputPerMillion);
    }

    [Fact]
    public void Without_a_catch_all_an_unlisted_model_has_no_price_and_a_simulated_provider_costs_nothing()
    {
        var prices = new Prices([Entry("p/*", 2)], simulatedProviders: ["sim"]);

        Assert.Null(prices.Of(new AgentSpec("other", "m")));
        Assert.Equal(new Price(0, 0, 0), prices.Of(new AgentSpec("SIM", "m")));
    }

    [Fact]
    public void Cached_prompt_tokens_cost_the_cached_rate_and_reasoning_tokens_count_among_the_completion_tokens()
    {
        // 1000 prompt tokens, 600 of them cached; 50 completion tokens, 20 of them reasoning.
        var cost = Priced.Of(new TokenCounts(1000, 50, CachedPrompt: 600, Reasoning: 20));

        Assert.Equal(((400 * 2.00m) + (600 * 0.50m) + (50 * 8.00m)) / 1_000_000m, cost);
    }

    [Fact]
    public void Without_a_cached_price_cached_tokens_cost_the_input_price()
    {
        var prices = new Prices([Entry("p/*", 3)], simulatedProviders: []);

        Assert.Equal(3m, prices.Of(new AgentSpec("p", "m"))!.CachedInputPerMillion);
    }

    [Theory]
    [InlineData(1, "0.0000000015", "0.000000002")] // 1.5 nano-dollars, half away from zero
    [InlineData(3, "0.0000000015", "0.000000005")] // 4.5
    [InlineData(1, "0.0000000014", "0.000000001")]
    public void A_calls_cost_is_rounded_half_away_from_zero_to_the_nano_dollar(int tokens, string usdPerToken, string expected)
    {
        var perMillion = decimal.Parse(usdPerToken, CultureInfo.InvariantCulture) * 1_000_000m;

        var cost = new Price(perMillion, 0, perMillion).Of(new TokenCounts(tokens, 0));

        Assert.Equal(expected, cost.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Amounts_are_written_without_trailing_zeros()
    {
        Assert.Equal("0.0012", Usd.Round(0.001200000m).ToString(CultureInfo.InvariantCulture));
        Assert.Equal("25", Usd.Round(25.00m).ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Prices_that_cannot_be_applied_are_refused_naming_the_entry()
    {
        var options = GatewayOptionsValidatorTests.Valid();
        options.Pricing.AddRange(
        [
            new PriceOptions { Model = "p/a", InputPerMillion = 1, OutputPerMillion = 1 },
            new PriceOptions { Model = "P/a", InputPerMillion = 1, OutputPerMillion = 1 },
            new PriceOptions { Model = "nope/*", InputPerMillion = 1, OutputPerMillion = 1 },
            new PriceOptions { Model = "m", InputPerMillion = 1, OutputPerMillion = 1 },
            new PriceOptions { Model = "p/b", InputPerMillion = -1 },
            new PriceOptions(),
        ]);

        var failures = new PricingValidator().Validate(null, options).Failures;

        Assert.Equal(
        [
            "MoaGateway:Pricing:1:Model 'P/a' has a price already, in MoaGateway:Pricing:0.",
            "MoaGateway:Pricing:2:Model 'nope/*' names provider 'nope', which is not configured (known: p).",
            "MoaGateway:Pricing:3:Model 'm' is no upstream model: write '<provider>/<model>', '<provider>/*' or '*'.",
            "MoaGateway:Pricing:4:InputPerMillion must not be negative.",
            "MoaGateway:Pricing:4:OutputPerMillion is required: US dollars per million tokens.",
            "MoaGateway:Pricing:5:Model is missing: write '<provider>/<model>', '<provider>/*' or '*'.",
            "MoaGateway:Pricing:5:InputPerMillion is required: US dollars per million tokens.",
            "MoaGateway:Pricing:5:OutputPerMillion is required: US dollars per million tokens.",
        ], failures);
    }

    private static PriceOptions Entry(string model, decimal inputPerMillion) =>
        new() { Model = model, InputPerMillion = inputPerMillion, OutputPerMillion = inputPerMillion };
}
