using MoaGateway.Moa;

namespace MoaGateway.Costs;

/// <summary>What one upstream call cost; <see cref="Complete"/> is false when an attempt's usage never came, so part of what the provider billed is unknown.</summary>
public readonly record struct CallCost(decimal Usd, bool Complete);

/// <summary>
/// What the upstream calls of one mixture cost, call by call, failed and retried attempts included as far as the
/// provider reported their usage. A call of a model without a price has no cost, and the total is then partial.
/// </summary>
public sealed class MixtureCost
{
    private readonly Dictionary<AgentCallReport, CallCost> _calls = new(ReferenceEqualityComparer.Instance);

    private MixtureCost(IReadOnlyList<AgentCallReport> calls, Prices prices)
    {
        Complete = true;
        foreach (var call in calls)
        {
            if (prices.Of(call.Agent) is not { } price)
            {
                Complete = false;
                continue;
            }

            var cost = new CallCost(price.Of(call.Usage ?? default), !call.UsageUnreported);
            _calls[call] = cost;
            Total += cost.Usd;
            Complete &= cost.Complete;
        }
    }

    /// <summary>The sum of every priced call's cost, in US dollars.</summary>
    public decimal Total { get; }

    /// <summary>False when a call had no price or an unknown part: <see cref="Total"/> is then a lower bound.</summary>
    public bool Complete { get; }

    /// <summary>Each priced call with its cost.</summary>
    public IEnumerable<(AgentCallReport Call, CallCost Cost)> Calls => _calls.Select(pair => (pair.Key, pair.Value));

    public static MixtureCost Of(IReadOnlyList<AgentCallReport> calls, Prices prices) => new(calls, prices);

    /// <summary>The cost of <paramref name="call"/>, one of the calls this was made of; null when its model has no price.</summary>
    public CallCost? Of(AgentCallReport call) => _calls.TryGetValue(call, out var cost) ? cost : null;
}
