using MoaGateway.Moa;

namespace MoaGateway.Configuration;

/// <summary>Turns validated model options into the engine's <see cref="VirtualModel"/>, each agent's unset settings taken from its model's AgentDefaults.</summary>
public static class VirtualModelResolver
{
    public static VirtualModel Resolve(string id, VirtualModelOptions options)
    {
        AgentSpec Spec(AgentOptions agent) => ToSpec(agent, options.AgentDefaults);
        return new VirtualModel(
            id,
            options.Description,
            [.. options.Layers.Select(layer => new LayerSpec(
                [.. layer.Agents.Select(Spec)],
                layer.MinAgents,
                layer.Quorum,
                layer.StragglerGraceMs is { } grace ? TimeSpan.FromMilliseconds(grace) : null))],
            [Spec(options.Aggregator!), .. options.AggregatorFallbacks.Select(Spec)],
            options.AggregatePrompt ?? AggregatePrompt.Default,
            options.MaxReferenceCharacters);
    }

    private static AgentSpec ToSpec(AgentOptions agent, AgentSettings defaults)
    {
        agent.TryGetName(out var name);
        return new AgentSpec(
            name.Provider,
            name.Model,
            agent.Temperature ?? defaults.Temperature,
            agent.MaxTokens ?? defaults.MaxTokens,
            Seconds(agent.FirstTokenTimeoutSeconds ?? defaults.FirstTokenTimeoutSeconds),
            Seconds(agent.TimeoutSeconds ?? defaults.TimeoutSeconds))
        {
            Samples = agent.Samples,
        };
    }

    private static TimeSpan? Seconds(double? seconds) => seconds is { } value ? TimeSpan.FromSeconds(value) : null;
}
