using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace MoaGateway.Moa;

/// <summary>The virtual models of one configuration, by id.</summary>
public sealed class VirtualModelCatalog
{
    private readonly FrozenDictionary<string, VirtualModel> _models;

    public VirtualModelCatalog(IEnumerable<VirtualModel> models)
    {
        _models = models.ToFrozenDictionary(model => model.Id, StringComparer.Ordinal);
        All = [.. _models.Values.OrderBy(model => model.Id, StringComparer.Ordinal)];
    }

    public IReadOnlyList<VirtualModel> All { get; }

    public bool TryGet(string id, [NotNullWhen(true)] out VirtualModel? model) => _models.TryGetValue(id, out model);
}
