using System.Collections.Frozen;

namespace MoaGateway.Configuration;

/// <summary>
/// A list of allowed models, as client keys' and overrides' <c>AllowedModels</c> write it: virtual model ids
/// (<c>moa</c>), <c>&lt;provider&gt;/&lt;model&gt;</c>, every model of a provider (<c>&lt;provider&gt;/*</c>), or
/// <c>*</c>; an empty list allows every model. Provider names match in any case, as in the provider registry; model
/// ids exactly.
/// </summary>
public sealed class ModelPatterns
{
    /// <summary>The entry that allows every model.</summary>
    public const string AnyModel = "*";

    /// <summary>The model part of an entry <c>&lt;provider&gt;/*</c>, which allows every model of that provider.</summary>
    private const string AnyModelOfProvider = "*";

    private readonly bool _anyModel;
    private readonly FrozenSet<string> _models;
    private readonly FrozenSet<string> _providers;

    public ModelPatterns(IReadOnlyCollection<string> entries)
    {
        _anyModel = entries.Count == 0 || entries.Contains(AnyModel);
        _providers = entries
            .Select(entry => ProviderModel.TryParse(entry, out var name) && name.Model == AnyModelOfProvider ? name.Provider : null)
            .OfType<string>()
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _models = entries.Select(Normalize).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>A virtual model id or a <c>&lt;provider&gt;/&lt;model&gt;</c> name.</summary>
    public bool Allows(string model) =>
        _anyModel ||
        _models.Contains(Normalize(model)) ||
        (ProviderModel.TryParse(model, out var name) && _providers.Contains(name.Provider));

    /// <summary>
    /// Why an entry names nothing the gateway serves, or null when it is good. Where <paramref name="virtualModels"/>
    /// is false, only upstream models may be named.
    /// </summary>
    public static string? EntryError(string entry, GatewayOptions options, bool virtualModels)
    {
        if (string.IsNullOrWhiteSpace(entry))
        {
            return "is blank.";
        }

        if (entry == AnyModel)
        {
            return null;
        }

        if (!entry.Contains('/', StringComparison.Ordinal))
        {
            if (!virtualModels)
            {
                return $"'{entry}' is not '<provider>/<model>' or '<provider>/*': the agents of an override are upstream models.";
            }

            return options.Models.Keys.Contains(entry, StringComparer.Ordinal)
                ? null
                : $"'{entry}' is not a virtual model (known: {string.Join(", ", options.Models.Keys.Order(StringComparer.Ordinal))}); " +
                  "pass-through models are '<provider>/<model>' or '<provider>/*'.";
        }

        if (!ProviderModel.TryParse(entry, out var name))
        {
            return $"'{entry}' is not '<provider>/<model>' or '<provider>/*'.";
        }

        return options.Providers.ContainsKey(name.Provider)
            ? null
            : $"'{entry}' names provider '{name.Provider}', which is not configured (known: {string.Join(", ", options.Providers.Keys.Order(StringComparer.Ordinal))}).";
    }

    private static string Normalize(string model) =>
        ProviderModel.TryParse(model, out var name) ? (name with { Provider = name.Provider.ToUpperInvariant() }).ToString() : model;
}
