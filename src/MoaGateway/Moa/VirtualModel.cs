namespace MoaGateway.Moa;

/// <summary>One upstream model a virtual model calls: which provider, which model, and its own settings.</summary>
public sealed record AgentSpec(
    string Provider,
    string Model,
    float? Temperature = null,
    int? MaxTokens = null,
    TimeSpan? FirstTokenTimeout = null,
    TimeSpan? Timeout = null)
{
    /// <summary>A proposer called this many times at once, each call with a seed of its own; null: called once, with none.</summary>
    public int? Samples { get; init; }

    /// <summary>The seed of one sample's call; set by the engine on the call, never configured.</summary>
    public long? Seed { get; init; }

    /// <summary>Upstream calls this agent makes as a proposer where nothing fails.</summary>
    public int Calls => Samples ?? 1;

    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>
/// A proposer layer. It succeeds with at least <paramref name="MinAgents"/> usable answers; once <paramref name="Quorum"/>
/// of them arrived, the other calls get <paramref name="StragglerGrace"/> before they are cut. Each sample of an agent
/// is one call and one answer.
/// </summary>
public sealed record LayerSpec(IReadOnlyList<AgentSpec> Agents, int MinAgents = 1, int? Quorum = null, TimeSpan? StragglerGrace = null)
{
    public int Calls => Agents.Sum(agent => agent.Calls);
}

/// <summary>
/// A Mixture-of-Agents model: proposer layers run in order, then an aggregator answers. Without layers it is an
/// alias: one call to the aggregator, with the fallbacks behind it. <see cref="Aggregators"/> holds the aggregator,
/// then its fallbacks in the order they are tried. With <see cref="MaxReferenceCharacters"/>, longer answers are cut
/// (and marked as cut) before the next layer or the aggregator reads them.
/// </summary>
public sealed record VirtualModel(
    string Id,
    string? Description,
    IReadOnlyList<LayerSpec> Layers,
    IReadOnlyList<AgentSpec> Aggregators,
    string AggregatePrompt,
    int? MaxReferenceCharacters = null)
{
    public AgentSpec Aggregator => Aggregators[0];

    public bool IsAlias => Layers.Count == 0;

    public IEnumerable<AgentSpec> AllAgents => Layers.SelectMany(layer => layer.Agents).Concat(Aggregators);

    /// <summary>Upstream calls of a request where nothing fails: every proposer's samples and one aggregator.</summary>
    public int UpstreamCallCount => Layers.Sum(layer => layer.Calls) + 1;
}
