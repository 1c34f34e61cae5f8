using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MoaGateway.Configuration;
using MoaGateway.Providers.Simulated;

namespace MoaGateway.Providers;

/// <summary>
/// The providers of one configuration. A provider whose API key variable is unset is served by the simulator when
/// allowed, or else unavailable: <see cref="MissingKeys"/> then names the virtual models that need it.
/// </summary>
public sealed class ProviderRegistry
{
    private readonly FrozenDictionary<string, Provider> _providers;
    private readonly FrozenDictionary<string, string> _unavailable;

    /// <summary>Per provider, everything its <see cref="Provider"/> object was built from, to tell when a reload may keep it.</summary>
    private readonly FrozenDictionary<string, string> _identities;

    private ProviderRegistry(Dictionary<string, Provider> providers, Dictionary<string, string> unavailable, Dictionary<string, string> identities)
    {
        _providers = providers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _unavailable = unavailable.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _identities = identities.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<Provider> All => _providers.Values;

    /// <summary>
    /// Builds the providers of <paramref name="gateway"/>. One whose settings, key and simulation are those of a provider
    /// of <paramref name="previous"/> is that same object, so its connection pool, circuit breaker and call slots live on.
    /// </summary>
    public static ProviderRegistry Create(GatewayOptions gateway, bool simulateMissingKeys, TimeProvider time, ProviderRegistry? previous)
    {
        var providers = new Dictionary<string, Provider>(StringComparer.OrdinalIgnoreCase);
        var unavailable = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var identities = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, provider) in gateway.Providers)
        {
            var apiKey = provider.ApiKeyEnv is { Length: > 0 } variable ? Environment.GetEnvironmentVariable(variable) : null;
            string? simulatedBecause = null;
            if (provider.Type == ProviderTypes.Simulated)
            {
                simulatedBecause = "it is configured as simulated";
            }
            else if (provider.ApiKeyEnv is { Length: > 0 } && string.IsNullOrEmpty(apiKey))
            {
                var reason = $"environment variable {provider.ApiKeyEnv} is not set";
                if (!simulateMissingKeys)
                {
                    unavailable[name] = $"Provider '{name}' has no API key: {reason} ({GatewayOptions.SectionName}:Providers:{name}:ApiKeyEnv).";
                    continue;
                }

                simulatedBecause = reason;
            }

            var identity = Identity(provider, apiKey, simulatedBecause);
            identities[name] = identity;
            providers[name] = previous is not null && previous._identities.GetValueOrDefault(name) == identity
                ? previous._providers[name]
                : simulatedBecause is not null
                    ? new Provider(name, provider, apiKey: null, simulatedBecause, new SimulatedProviderHandler(provider.Simulation), time)
                    : new Provider(name, provider, apiKey, simulatedBecause: null, CreateHandler(provider), time);
        }

        return new ProviderRegistry(providers, unavailable, identities);
    }

    public bool TryGet(string provider, [NotNullWhen(true)] out Provider? found) => _providers.TryGetValue(provider, out found);

    public Provider Get(string provider) => _providers.TryGetValue(provider, out var found)
        ? found
        : throw new InvalidOperationException(_unavailable.GetValueOrDefault(provider, $"Provider '{provider}' is not configured."));

    /// <summary>Why a configured provider cannot be used, or null when it can (or is not configured at all).</summary>
    public string? UnavailableReason(string provider) => _unavailable.GetValueOrDefault(provider);

    /// <summary>The virtual models that need a provider without its key, and what to do about it; empty when there are none.</summary>
    public IReadOnlyList<string> MissingKeys(GatewayOptions gateway)
    {
        var problems = gateway.Models
            .SelectMany(model => model.Value.Layers.SelectMany(layer => layer.Agents).Append(model.Value.Aggregator!).Concat(model.Value.AggregatorFallbacks)
                .Select(agent => agent.TryGetName(out var name) ? name.Provider : null)
                .OfType<string>()
                .Where(_unavailable.ContainsKey)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(provider => $"{GatewayOptions.SectionName}:Models:{model.Key} needs provider '{provider}'. {_unavailable[provider]}"))
            .ToList();
        return problems.Count == 0
            ? []
            : [.. problems, $"Set the key, or set {GatewayOptions.SectionName}:SimulateProvidersWithoutKeys=true to serve simulated answers instead."];
    }

    /// <summary>Disposes the providers of this registry that <paramref name="kept"/> does not hold, as when it is discarded unused.</summary>
    public void DisposeExcept(ProviderRegistry? kept)
    {
        foreach (var provider in All.Where(provider => kept is null || !kept.All.Contains(provider)))
        {
            provider.Dispose();
        }
    }

    /// <summary>The settings as bound (defaults included), the key's hash and the reason for simulating, as one comparable string.</summary>
    private static string Identity(ProviderOptions provider, string? apiKey, string? simulatedBecause) => string.Join(
        '\n',
        JsonSerializer.Serialize(provider),
        simulatedBecause,
        apiKey is null ? null : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey))));

    private static SocketsHttpHandler CreateHandler(ProviderOptions provider) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(provider.ConnectTimeoutSeconds),
        EnableMultipleHttp2Connections = true,
        // One pool serves every client of the gateway: a cookie an upstream sets must not ride along on other clients'
        // calls, and an API answers rather than redirects. Without them, each call skips two handler stages.
        UseCookies = false,
        AllowAutoRedirect = false,
    };
}
