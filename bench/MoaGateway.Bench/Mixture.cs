using System.Globalization;
using MoaGateway.Bench.Upstream;

namespace MoaGateway.Bench;

/// <summary>A proposer layer of paced agents; with a quorum, the rest get <see cref="GraceMs"/> after it answered and are then cut.</summary>
internal sealed record Layer(IReadOnlyList<Pacing> Agents, int? Quorum = null, double? GraceMs = null)
{
    /// <summary>When the layer is over: its slowest agent, or the quorum's slowest plus the grace if that comes first.</summary>
    public double DurationMs
    {
        get
        {
            var slowest = Agents.Max(agent => agent.TotalMs);
            if (Quorum is not { } quorum || quorum >= Agents.Count)
            {
                return slowest;
            }

            var quorumAnswered = Agents.Select(agent => agent.TotalMs).Order().ElementAt(quorum - 1);
            return Math.Min(slowest, quorumAnswered + (GraceMs ?? 0));
        }
    }

    /// <summary>The agents whose answers the next layer sees: those done by the end of the layer.</summary>
    public IEnumerable<Pacing> Answering => Agents.Where(agent => agent.TotalMs <= DurationMs);
}

/// <summary>A virtual model of the gateway whose agents are all the bench upstream, paced by their model names.</summary>
internal sealed record Mixture(string ModelId, IReadOnlyList<Layer> Layers, Pacing Aggregator)
{
    /// <summary>The least time the answer can take: every layer in turn, then the aggregator's whole answer.</summary>
    public double CriticalPathMs => Layers.Sum(layer => layer.DurationMs) + Aggregator.TotalMs;

    /// <summary>The least time to the first answer token: every layer, then the aggregator's first token.</summary>
    public double CriticalFirstTokenMs => Layers.Sum(layer => layer.DurationMs) + Aggregator.TimeToFirstTokenMs;

    public static string AgentModel(int agent, Pacing pacing) => pacing.Name($"p{agent + 1}");

    public static string AggregatorModel(Pacing pacing) => pacing.Name("agg");

    /// <summary>The gateway configuration of this model, as environment variables on provider <paramref name="provider"/>.</summary>
    public IEnumerable<KeyValuePair<string, string>> GatewayEnvironment(string provider)
    {
        var model = $"MoaGateway__Models__{ModelId}";
        for (var l = 0; l < Layers.Count; l++)
        {
            var layer = Layers[l];
            for (var a = 0; a < layer.Agents.Count; a++)
            {
                yield return new($"{model}__Layers__{l}__Agents__{a}__Provider", provider);
                yield return new($"{model}__Layers__{l}__Agents__{a}__Model", AgentModel(a, layer.Agents[a]));
            }

            if (layer.Quorum is { } quorum)
            {
                yield return new($"{model}__Layers__{l}__Quorum", quorum.ToString(CultureInfo.InvariantCulture));
                yield return new($"{model}__Layers__{l}__StragglerGraceMs", (layer.GraceMs ?? 0).ToString(CultureInfo.InvariantCulture));
            }
        }

        yield return new($"{model}__Aggregator__Provider", provider);
        yield return new($"{model}__Aggregator__Model", AggregatorModel(Aggregator));
    }
}
