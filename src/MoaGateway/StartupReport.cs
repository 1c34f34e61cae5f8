using MoaGateway.Moa;
using MoaGateway.Providers;

namespace MoaGateway;

/// <summary>Resolves providers and models when the host starts, so a bad set-up fails at once, and says what is served.</summary>
internal sealed partial class StartupReport(VirtualModelCatalog catalog, ProviderRegistry registry, ILogger<StartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var model in catalog.All)
        {
            var simulated = model.AllAgents.Select(agent => agent.Provider).Distinct(StringComparer.OrdinalIgnoreCase)
                .Where(provider => registry.Get(provider).IsSimulated)
                .ToList();
            var shape = string.Join(" -> ", model.Layers.Select(layer => layer.Agents.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var aggregator = model.Aggregator.ToString();
            if (simulated.Count == 0)
            {
                LogModel(logger, model.Id, shape, aggregator, model.UpstreamCallCount);
            }
            else
            {
                var providers = string.Join(", ", simulated);
                LogSimulatedModel(logger, model.Id, shape, aggregator, providers);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Virtual model '{Model}': proposer layers {Shape}, aggregator {Aggregator}, {Calls} upstream calls per request")]
    private static partial void LogModel(ILogger logger, string model, string shape, string aggregator, int calls);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Virtual model '{Model}' (proposer layers {Shape}, aggregator {Aggregator}) is SIMULATED: provider(s) {Providers} answer with placeholder text. Set the providers' API keys for real answers.")]
    private static partial void LogSimulatedModel(ILogger logger, string model, string shape, string aggregator, string providers);
}
