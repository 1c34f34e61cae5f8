using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Providers.Simulated;

namespace MoaGateway.Providers;

/// <summary>
/// Every configured provider, resolved at start-up. A provider whose API key variable is unset is either served by
/// the simulator (when allowed, and said loudly) or refuses start-up if a virtual model needs it.
/// </summary>
public sealed partial class ProviderRegistry : IDisposable
{
    private readonly FrozenDictionary<string, Provider> _providers;
    private readonly FrozenDictionary<string, string> _unavailable;

    public ProviderRegistry(IOptions<GatewayOptions> options, IHostEnvironment environment, TimeProvider time, ILogger<ProviderRegistry> logger)
    {
        var gateway = options.Value;
        var simulateMissingKeys = gateway.SimulateProvidersWithoutKeys ?? environment.IsDevelopment();
        var providers = new Dictionary<string, Provider>(StringComparer.OrdinalIgnoreCase);
        var unavailable = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        foreach (var (name, provider) in gateway.Providers)
        {
            if (provider.Type == ProviderTypes.Simulated)
            {
                providers[name] = Simulated(name, provider, "configured as simulated", time);
                continue;
            }

            var apiKey = provider.ApiKeyEnv is { Length: > 0 } variable ? Environment.GetEnvironmentVariable(variable) : null;
            if (provider.ApiKeyEnv is { Length: > 0 } && string.IsNullOrEmpty(apiKey))
            {
                var reason = $"environment variable {provider.ApiKeyEnv} is not set";
                if (simulateMissingKeys)
                {
                    LogSimulatedProvider(logger, name, reason);
                    providers[name] = Simulated(name, provider, reason, time);
                }
                else
                {
                    unavailable[name] = $"Provider '{name}' has no API key: {reason} ({GatewayOptions.SectionName}:Providers:{name}:ApiKeyEnv).";
                }

                continue;
            }

            providers[name] = new Provider(name, provider, apiKey, simulatedBecause: null, CreateHandler(provider), time);
        }

        _providers = providers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _unavailable = unavailable.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        RefuseModelsWithoutKeys(gateway);
    }

    public IEnumerable<Provider> All => _providers.Values;

    public bool TryGet(string provider, [NotNullWhen(true)] out Provider? found) => _providers.TryGetValue(provider, out found);

    public Provider Get(string provider) => _providers.TryGetValue(provider, out var found)
        ? found
        : throw new InvalidOperationException(_unavailable.GetValueOrDefault(provider, $"Provider '{provider}' is not configured."));

    /// <summary>Why a configured provider cannot be used, or null when it can (or is not configured at all).</summary>
    public string? UnavailableReason(string provider) => _unavailable.GetValueOrDefault(provider);

    public void Dispose()
    {
        foreach (var provider in _providers.Values)
        {
            provider.Dispose();
        }
    }

    private void RefuseModelsWithoutKeys(GatewayOptions gateway)
    {
        var problems = gateway.Models
            .SelectMany(model => model.Value.Layers.SelectMany(layer => layer.Agents).Append(model.Value.Aggregator!).Concat(model.Value.AggregatorFallbacks)
                .Select(agent => agent.Provider!)
                .Where(_unavailable.ContainsKey)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(provider => $"{GatewayOptions.SectionName}:Models:{model.Key} needs provider '{provider}'. {_unavailable[provider]}"))
            .ToList();
        if (problems.Count > 0)
        {
            Dispose();
            throw new OptionsValidationException(GatewayOptions.SectionName, typeof(GatewayOptions), [
                .. problems,
                $"Set the key, or set {GatewayOptions.SectionName}:SimulateProvidersWithoutKeys=true to serve simulated answers instead.",
            ]);
        }
    }

    private static Provider Simulated(string name, ProviderOptions provider, string reason, TimeProvider time) =>
        new(name, provider, apiKey: null, reason, new SimulatedProviderHandler(provider.Simulation), time);

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

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "SIMULATED PROVIDER: '{Provider}' answers with the built-in simulator because {Reason}. Its answers are deterministic placeholder text, not a language model.")]
    private static partial void LogSimulatedProvider(ILogger logger, string provider, string reason);
}
