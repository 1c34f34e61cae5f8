using MoaGateway.Configuration;
using MoaGateway.Costs;

namespace MoaGateway.Security;

/// <summary>
/// The client key a <c>/v1</c> request authenticated with, and what it may do. Read it (for logs and metrics, by
/// <see cref="Id"/>) with <c>HttpContext.Features.Get&lt;ClientKey&gt;()</c>: set by <see cref="ClientKeyMiddleware"/>, absent when no keys are configured.
/// </summary>
public sealed class ClientKey
{
    private readonly ModelPatterns _allowedModels;

    internal ClientKey(string id, byte[] sha256, ClientKeyOptions options)
    {
        Id = id;
        Sha256 = sha256;
        RequestsPerMinute = options.RequestsPerMinute;
        MaxConcurrentRequests = options.MaxConcurrentRequests;
        Budget = options.Budget.UsdPerDay is null && options.Budget.UsdPerMonth is null
            ? null
            : new Budget(options.Budget.UsdPerDay, options.Budget.UsdPerMonth);
        AllowedModels = [.. options.AllowedModels.DefaultIfEmpty(ModelPatterns.AnyModel)];
        _allowedModels = new ModelPatterns(options.AllowedModels);
    }

    /// <summary>The configuration name of the key (<c>MoaGateway:Auth:Keys:&lt;id&gt;</c>): safe to log, never sent to clients.</summary>
    public string Id { get; }

    /// <summary>The key's <c>AllowedModels</c> as configured; <c>*</c> when it has none.</summary>
    public IReadOnlyList<string> AllowedModels { get; }

    public int? RequestsPerMinute { get; }

    public int? MaxConcurrentRequests { get; }

    /// <summary>What the key may spend; null when it has no budget.</summary>
    public Budget? Budget { get; }

    /// <summary>The SHA-256 of the key; the key itself is not kept.</summary>
    internal byte[] Sha256 { get; }

    /// <summary>True when no keys are configured, or the request's key may use <paramref name="model"/>.</summary>
    public static bool Allows(HttpContext context, string model) => context.Features.Get<ClientKey>() is not { } key || key.MayUse(model);

    /// <summary>A virtual model id or <c>&lt;provider&gt;/&lt;model&gt;</c> name, as a chat request or <c>/v1/models</c> names it.</summary>
    public bool MayUse(string model) => _allowedModels.Allows(model);
}
