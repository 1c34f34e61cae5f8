using System.Collections.Frozen;
using MoaGateway.Configuration;

namespace MoaGateway.Security;

/// <summary>
/// The client key a <c>/v1</c> request authenticated with, and what it may do. Read it (for logs and metrics, by
/// <see cref="Id"/>) with <c>HttpContext.Features.Get&lt;ClientKey&gt;()</c>: set by <see cref="ClientKeyMiddleware"/>, absent when no keys are configured.
/// </summary>
public sealed class ClientKey
{
    /// <summary>The <c>AllowedModels</c> entry that allows every model.</summary>
    public const string AnyModel = "*";

    /// <summary>The model part of an <c>AllowedModels</c> entry <c>&lt;provider&gt;/*</c>, which allows every model of that provider.</summary>
    private const string AnyModelOfProvider = "*";

    private readonly bool _anyModel;
    private readonly FrozenSet<string> _models;
    private readonly FrozenSet<string> _providers;

    internal ClientKey(string id, byte[] sha256, ClientKeyOptions options)
    {
        Id = id;
        Sha256 = sha256;
        RequestsPerMinute = options.RequestsPerMinute;
        MaxConcurrentRequests = options.MaxConcurrentRequests;
        var allowed = options.AllowedModels;
        _anyModel = allowed.Count == 0 || allowed.Contains(AnyModel);
        _providers = allowed
            .Select(entry => ProviderModel.TryParse(entry, out var name) && name.Model == AnyModelOfProvider ? name.Provider : null)
            .OfType<string>()
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _models = allowed.Select(Normalize).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The configuration name of the key (<c>MoaGateway:Auth:Keys:&lt;id&gt;</c>): safe to log, never sent to clients.</summary>
    public string Id { get; }

    public int? RequestsPerMinute { get; }

    public int? MaxConcurrentRequests { get; }

    /// <summary>The SHA-256 of the key; the key itself is not kept.</summary>
    internal byte[] Sha256 { get; }

    /// <summary>True when no keys are configured, or the request's key may use <paramref name="model"/>.</summary>
    public static bool Allows(HttpContext context, string model) => context.Features.Get<ClientKey>() is not { } key || key.MayUse(model);

    /// <summary>A virtual model id or <c>&lt;provider&gt;/&lt;model&gt;</c> name, as a chat request or <c>/v1/models</c> names it.</summary>
    public bool MayUse(string model) =>
        _anyModel ||
        _models.Contains(Normalize(model)) ||
        (ProviderModel.TryParse(model, out var name) && _providers.Contains(name.Provider));

    /// <summary>Provider names are case-insensitive, as in the provider registry; model ids are not.</summary>
    private static string Normalize(string model) =>
        ProviderModel.TryParse(model, out var name) ? (name with { Provider = name.Provider.ToUpperInvariant() }).ToString() : model;
}
