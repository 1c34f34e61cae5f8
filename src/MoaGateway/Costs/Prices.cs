using MoaGateway.Configuration;
using MoaGateway.Moa;

namespace MoaGateway.Costs;

/// <summary>
/// The prices of one configuration (<c>MoaGateway:Pricing</c>), looked up by agent, the most specific entry first. A
/// provider answered by the built-in simulator spends nothing, whatever its entries say.
/// </summary>
public sealed class Prices
{
    private static readonly Price Free = new(0, 0, 0);

    private readonly ModelLookup<Price> _prices;
    private readonly HashSet<string> _simulated;

    /// <param name="options">Validated entries: each with a model pattern and its input and output prices.</param>
    /// <param name="simulatedProviders">The providers that the built-in simulator answers for.</param>
    public Prices(IReadOnlyList<PriceOptions> options, IEnumerable<string> simulatedProviders)
    {
        _prices = new ModelLookup<Price>(options.Select(entry => (
            entry.Model!,
            new Price(entry.InputPerMillion!.Value, entry.OutputPerMillion!.Value, entry.CachedInputPerMillion ?? entry.InputPerMillion.Value))));
        _simulated = new HashSet<string>(simulatedProviders, StringComparer.OrdinalIgnoreCase);
        Count = options.Count;
    }

    /// <summary>How many entries the configuration gives.</summary>
    public int Count { get; }

    /// <summary>The price of <paramref name="agent"/>'s model, or null when none is configured.</summary>
    public Price? Of(AgentSpec agent) =>
        _simulated.Contains(agent.Provider) ? Free : _prices.TryMatch(agent.ToString(), out var price) ? price : null;
}
