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

    /// <summary>The entries; null for an empty list, which allows every model.</summary>
    private readonly ModelLookup<bool>? _entries;

    public ModelPatterns(IReadOnlyCollection<string> entries) =>
        _entries = entries.Count == 0 ? null : new ModelLookup<bool>(entries.Select(entry => (entry, true)));

    /// <summary>A virtual model id or a <c>&lt;provider&gt;/&lt;model&gt;</c> name.</summary>
    public bool Allows(string model) => _entries is null || _entries.TryMatch(model, out _);

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
}
