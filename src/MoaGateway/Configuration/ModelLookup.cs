using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace MoaGateway.Configuration;

/// <summary>
/// Values looked up by model name through the patterns configuration writes for models: a virtual model id (<c>moa</c>),
/// <c>&lt;provider&gt;/&lt;model&gt;</c>, every model of a provider (<c>&lt;provider&gt;/*</c>), or every model (<c>*</c>). Provider
/// names match in any case, model ids exactly, and the most specific pattern wins. The one matcher behind the
/// <c>AllowedModels</c> lists (<see cref="ModelPatterns"/>) and <c>Pricing</c>.
/// </summary>
public sealed class ModelLookup<T>
{
    private readonly FrozenDictionary<string, T> _exact;
    private readonly FrozenDictionary<string, T> _providers;
    private readonly bool _hasAny;
    private readonly T? _any;

    /// <param name="entries">Patterns and their values; of equal patterns, the first wins.</param>
    public ModelLookup(IEnumerable<(string Pattern, T Value)> entries)
    {
        var exact = new Dictionary<string, T>(StringComparer.Ordinal);
        var providers = new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
        foreach (var (pattern, value) in entries)
        {
            if (pattern == ModelPatterns.AnyModel)
            {
                if (!_hasAny)
                {
                    (_hasAny, _any) = (true, value);
                }
            }
            else if (ProviderModel.TryParse(pattern, out var name) && name.Model == ModelPatterns.AnyModel)
            {
                providers.TryAdd(name.Provider, value);
            }
            else
            {
                exact.TryAdd(Normalize(pattern), value);
            }
        }

        _exact = exact.ToFrozenDictionary(StringComparer.Ordinal);
        _providers = providers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The value of the most specific pattern that matches <paramref name="model"/>, a virtual model id or <c>&lt;provider&gt;/&lt;model&gt;</c>.</summary>
    public bool TryMatch(string model, [MaybeNullWhen(false)] out T value)
    {
        if (_exact.TryGetValue(Normalize(model), out value) ||
            (ProviderModel.TryParse(model, out var name) && _providers.TryGetValue(name.Provider, out value)))
        {
            return true;
        }

        value = _any;
        return _hasAny;
    }

    /// <summary>Provider names are case-insensitive, as in the provider registry; model ids are not.</summary>
    private static string Normalize(string model) =>
        ProviderModel.TryParse(model, out var name) ? (name with { Provider = name.Provider.ToUpperInvariant() }).ToString() : model;
}
