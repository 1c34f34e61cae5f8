using System.Globalization;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.SharedState;

namespace MoaGateway.Serving;

/// <summary>Says in the log what a configuration serves, at start-up and after each reload: models, simulated providers, client keys.</summary>
internal static partial class ConfigurationReport
{
    private const string Root = GatewayOptions.SectionName;

    /// <summary>Logs what <paramref name="snapshot"/> serves; after a reload, simulated providers only where they are new.</summary>
    public static void Log(ILogger logger, ConfigurationSnapshot snapshot, ConfigurationSnapshot? previous = null)
    {
        var simulatedForLackOfKey = snapshot.Providers.All.Where(provider =>
            provider.IsSimulated && provider.Options.Type != ProviderTypes.Simulated && previous?.Providers.All.Contains(provider) != true);
        foreach (var provider in simulatedForLackOfKey)
        {
            LogSimulatedProvider(logger, provider.Name, provider.SimulatedBecause!, HowToMakeReal(provider));
        }

        foreach (var model in snapshot.Models.All)
        {
            var simulated = snapshot.SimulatedProviders(model);
            var shape = Shape(model);
            var aggregator = model.Aggregator.ToString();
            if (simulated.Count == 0)
            {
                LogModel(logger, model.Id, shape, aggregator, model.UpstreamCallCount);
            }
            else
            {
                LogSimulatedModel(logger, model.Id, shape, aggregator, string.Join(", ", simulated.Select(provider => provider.Name)));
            }
        }

        var keys = snapshot.ClientKeys.Ids.ToList();
        if (keys.Count == 0)
        {
            LogOpen(logger, Root);
        }
        else
        {
            var ids = string.Join(", ", keys);
            LogRequired(logger, keys.Count, ids);
            var sharedState = SharedState(snapshot);
            LogSharedState(logger, sharedState);
        }

        LogPricing(logger, snapshot.Prices.Count);
    }

    /// <summary>Where client keys' limits and spend are counted, as the log and <c>check</c> say it.</summary>
    public static string SharedState(ConfigurationSnapshot snapshot) => snapshot.Counters is RedisCounters redis
        ? string.Create(CultureInfo.InvariantCulture,
            $"in Redis at {redis.Endpoints}, shared by every replica ({(redis.Options.FailClosed ? "fail closed" : "fail open")}, " +
            $"calls bounded by {redis.Options.TimeoutMs:0.###} ms, slots leased for {redis.Options.LeaseSeconds:0.###} s)")
        : "in this replica's memory, each replica on its own (MoaGateway:SharedState:Redis is not set)";

    /// <summary>The proposer layers by their agent counts (<c>6 -> 6</c>), their calls where agents are sampled, or that the model is an alias.</summary>
    public static string Shape(VirtualModel model) => model.IsAlias
        ? "none (an alias)"
        : string.Join(" -> ", model.Layers.Select(layer => layer.Calls == layer.Agents.Count
            ? layer.Agents.Count.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{layer.Calls} calls of {layer.Agents.Count} sampled agent(s)")));

    /// <summary>What to change so that a simulated provider calls a real model.</summary>
    public static string HowToMakeReal(Provider provider) => provider.Options.Type == ProviderTypes.Simulated
        ? $"give {Root}:Providers:{provider.Name} a BaseUrl and remove its Type"
        : $"set {provider.Options.ApiKeyEnv}; for a local server that needs no key (Ollama, vLLM, llama.cpp), declare the provider " +
          $"keyless with an empty {Root}:Providers:{provider.Name}:ApiKeyEnv (environment: {Root}__Providers__{provider.Name}__ApiKeyEnv=)";

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "SIMULATED PROVIDER: '{Provider}' answers with the built-in simulator because {Reason}. Its answers are deterministic placeholder text, not a language model. For real answers, {Remedy}.")]
    private static partial void LogSimulatedProvider(ILogger logger, string provider, string reason, string remedy);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Virtual model '{Model}': proposer layers {Shape}, aggregator {Aggregator}, {Calls} upstream calls per request")]
    private static partial void LogModel(ILogger logger, string model, string shape, string aggregator, int calls);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Virtual model '{Model}' (proposer layers {Shape}, aggregator {Aggregator}) is SIMULATED: provider(s) {Providers} answer with placeholder text.")]
    private static partial void LogSimulatedModel(ILogger logger, string model, string shape, string aggregator, string providers);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No client API keys are configured ({Section}:Auth:Keys): /v1 is open to anyone who can reach the gateway.")]
    private static partial void LogOpen(ILogger logger, string section);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client API keys required on /v1: {Count} configured ({Ids})")]
    private static partial void LogRequired(ILogger logger, int count, string ids);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client keys' limits and budgets are counted {SharedState}")]
    private static partial void LogSharedState(ILogger logger, string sharedState);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pricing: {Count} entries; calls of models without one report no cost, and their requests a partial one")]
    private static partial void LogPricing(ILogger logger, int count);
}
