using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Moa;

/// <summary>The virtual models of the validated configuration, resolved once at start-up.</summary>
public sealed class VirtualModelCatalog
{
    private readonly FrozenDictionary<string, VirtualModel> _models;

    public VirtualModelCatalog(IOptions<GatewayOptions> options)
    {
        _models = options.Value.Models
            .Select(pair => Resolve(pair.Key, pair.Value))
            .ToFrozenDictionary(model => model.Id, StringComparer.Ordinal);
        All = [.. _models.Values.OrderBy(model => model.Id, StringComparer.Ordinal)];
    }

    public IReadOnlyList<VirtualModel> All { get; }

    public bool TryGet(string id, [NotNullWhen(true)] out VirtualModel? model) => _models.TryGetValue(id, out model);

    private static VirtualModel Resolve(string id, VirtualModelOptions options) => new(
        id,
        options.Description,
        [.. options.Layers.Select(layer => new LayerSpec(
            [.. layer.Agents.Select(ToSpec)],
            layer.MinAgents,
            layer.Quorum,
            layer.StragglerGraceMs is { } grace ? TimeSpan.FromMilliseconds(grace) : null))],
        [ToSpec(options.Aggregator!), .. options.AggregatorFallbacks.Select(ToSpec)],
        options.AggregatePrompt ?? AggregatePrompt.Default);

    private static AgentSpec ToSpec(AgentOptions agent) => new(
        agent.Provider!,
        agent.Model!,
        agent.Temperature,
        agent.MaxTokens,
        agent.FirstTokenTimeoutSeconds is { } firstToken ? TimeSpan.FromSeconds(firstToken) : null,
        agent.TimeoutSeconds is { } timeout ? TimeSpan.FromSeconds(timeout) : null);
}
