namespace MoaGateway.Moa;

/// <summary>One upstream model call a virtual model makes: which provider, which model, and its own settings.</summary>
public sealed record AgentSpec(
    string Provider,
    string Model,
    float? Temperature = null,
    int? MaxTokens = null,
    TimeSpan? FirstTokenTimeout = null,
    TimeSpan? Timeout = null)
{
    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>
/// A proposer layer. It succeeds with at least <paramref name="MinAgents"/> answers; once <paramref name="Quorum"/>
/// agents answered, the others get <paramref name="StragglerGrace"/> before they are cut.
/// </summary>
public sealed record LayerSpec(IReadOnlyList<AgentSpec> Agents, int MinAgents = 1, int? Quorum = null, TimeSpan? StragglerGrace = null);

/// <summary>
/// A configured Mixture-of-Agents model: proposer layers run in order, then an aggregator answers. Without layers it
/// is an alias: one call to the aggregator, with the fallbacks behind it.
/// <see cref="Aggregators"/> holds the aggregator, then its fallbacks in the order they are tried.
/// </summary>
public sealed record VirtualModel(
    string Id,
    string? Description,
    IReadOnlyList<LayerSpec> Layers,
    IReadOnlyList<AgentSpec> Aggregators,
    string AggregatePrompt)
{
    public AgentSpec Aggregator => Aggregators[0];

    public bool IsAlias => Layers.Count == 0;

    public IEnumerable<AgentSpec> AllAgents => Layers.SelectMany(layer => layer.Agents).Concat(Aggregators);

    /// <summary>Upstream calls of a request where nothing fails: every proposer and one aggregator.</summary>
    public int UpstreamCallCount => Layers.Sum(layer => layer.Agents.Count) + 1;
}
