using System.Collections.Frozen;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.Security;
using MoaGateway.SharedState;

namespace MoaGateway.Serving;

/// <summary>
/// One validated configuration, whole and unchanging: the options, the virtual models, the providers, the client keys,
/// the CORS policy, the prices and where limits are counted. A request takes the current snapshot when it starts and keeps it to its end (read it with
/// <see cref="Of"/>), so a reload never changes a request half-way; <see cref="LiveConfiguration"/> swaps snapshots.
/// </summary>
public sealed class ConfigurationSnapshot
{
    /// <summary>Per virtual model, the providers of its agents that answer from the built-in simulator.</summary>
    private readonly FrozenDictionary<string, IReadOnlyList<Provider>> _simulated;

    /// <summary>Requests using this snapshot, plus one while it is the live configuration's current one.</summary>
    private int _holds = 1;

    internal ConfigurationSnapshot(
        int generation, DateTimeOffset loadedAt, GatewayOptions options, VirtualModelCatalog models, ProviderRegistry providers,
        ClientKeys clientKeys, CorsPolicy? cors, MoaEngine engine, Prices prices, IClientKeyCounters counters)
    {
        Generation = generation;
        LoadedAt = loadedAt;
        Options = options;
        Models = models;
        Providers = providers;
        ClientKeys = clientKeys;
        Cors = cors;
        Engine = engine;
        Prices = prices;
        Counters = counters;
        _simulated = models.All.ToFrozenDictionary(model => model.Id, SimulatedOf, StringComparer.Ordinal);
    }

    /// <summary>1 for the configuration the gateway started with, one more for every reload applied since.</summary>
    public int Generation { get; }

    public DateTimeOffset LoadedAt { get; }

    public GatewayOptions Options { get; }

    public VirtualModelCatalog Models { get; }

    public ProviderRegistry Providers { get; }

    public ClientKeys ClientKeys { get; }

    /// <summary>The policy of <c>MoaGateway:Cors:AllowedOrigins</c>; null keeps CORS closed.</summary>
    public CorsPolicy? Cors { get; }

    /// <summary>The MoA engine over this snapshot's providers.</summary>
    public MoaEngine Engine { get; }

    /// <summary>The prices of <c>MoaGateway:Pricing</c>.</summary>
    public Prices Prices { get; }

    /// <summary>Where client keys' limits and spend are counted: this replica's memory, or the Redis of <c>MoaGateway:SharedState</c>.</summary>
    public IClientKeyCounters Counters { get; }

    /// <summary>The snapshot the request started with.</summary>
    public static ConfigurationSnapshot Of(HttpContext context) => context.Features.GetRequiredFeature<ConfigurationSnapshot>();

    /// <summary>
    /// The providers of <paramref name="model"/> that answer from the built-in simulator: worked out once for each
    /// configured model, and afresh for one a request's override changed.
    /// </summary>
    public IReadOnlyList<Provider> SimulatedProviders(VirtualModel model) =>
        Models.TryGet(model.Id, out var configured) && ReferenceEquals(configured, model) ? _simulated[model.Id] : SimulatedOf(model);

    private IReadOnlyList<Provider> SimulatedOf(VirtualModel model) =>
    [
        .. model.AllAgents.Select(agent => agent.Provider).Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(name => Providers.TryGet(name, out var provider) ? provider : null)
            .OfType<Provider>()
            .Where(provider => provider.IsSimulated),
    ];

    /// <summary>Takes a hold for one more request, unless the snapshot has been let go of already.</summary>
    internal bool TryHold()
    {
        var holds = Volatile.Read(ref _holds);
        while (holds > 0)
        {
            var seen = Interlocked.CompareExchange(ref _holds, holds + 1, holds);
            if (seen == holds)
            {
                return true;
            }

            holds = seen;
        }

        return false;
    }

    /// <summary>Gives a hold back; true when it was the last, and nothing uses the snapshot any more.</summary>
    internal bool Release() => Interlocked.Decrement(ref _holds) == 0;
}
