namespace MoaGateway.Moa;

/// <summary>One upstream model call a virtual model makes: which provider, which model, and its own sampling settings.</summary>
public sealed record AgentSpec(string Provider, string Model, float? Temperature = null, int? MaxTokens = null)
{
    public override string ToString() => $"{Provider}/{Model}";
}

/// <summary>A configured Mixture-of-Agents model: proposer layers run in order, then the aggregator answers.</summary>
public sealed record VirtualModel(
    string Id,
    string? Description,
    IReadOnlyList<IReadOnlyList<AgentSpec>> Layers,
    AgentSpec Aggregator,
    string AggregatePrompt)
{
    public int UpstreamCallCount => Layers.Sum(layer => layer.Count) + 1;
}
