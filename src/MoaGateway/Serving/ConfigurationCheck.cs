using System.Globalization;
using System.Text;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.Security;

namespace MoaGateway.Serving;

/// <summary>
/// <c>MoaGateway check</c>: validates the configuration exactly as start-up does, without opening a port, and prints
/// what it resolves to: every virtual model with its layers, agents and their effective settings, its aggregator and
/// fallbacks, and which providers are simulated and why. Exit code 0 when valid; 1, with the problems, when not.
/// </summary>
internal static class ConfigurationCheck
{
    public const string Command = "check";

    public static async Task<int> RunAsync(string[] args)
    {
        // The application is built, never started: its configuration is loaded as at start-up, and no port is opened.
        await using var app = GatewayApp.Create(args);
        var snapshot = app.Services.GetRequiredService<LiveConfiguration>().Current;
        var environment = app.Services.GetRequiredService<IHostEnvironment>();
        var files = ((IConfigurationRoot)app.Services.GetRequiredService<IConfiguration>()).Providers.OfType<SettingsFileProvider>()
            .Where(file => File.Exists(file.FullPath))
            .Select(file => new FileInfo(file.FullPath).ResolveLinkTarget(returnFinalTarget: true) is { } target
                ? $"{file.FullPath} (a link to {target.FullName})"
                : file.FullPath);
        await Console.Out.WriteAsync(Describe(snapshot, environment.EnvironmentName, files));
        return 0;
    }

    internal static string Describe(ConfigurationSnapshot snapshot, string environment, IEnumerable<string> files)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"The configuration is valid (environment {environment}).");
        text.AppendLine(CultureInfo.InvariantCulture, $"Settings files: {string.Join(", ", files.DefaultIfEmpty("none"))}");
        text.AppendLine().AppendLine("Providers:");
        foreach (var name in snapshot.Options.Providers.Keys.Order(StringComparer.OrdinalIgnoreCase))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {name}: {Describe(snapshot.Providers, name)}");
        }

        text.AppendLine().AppendLine("Virtual models:");
        foreach (var model in snapshot.Models.All)
        {
            DescribeModel(text, model, snapshot);
        }

        var keys = snapshot.ClientKeys.All.ToList();
        text.AppendLine().AppendLine(keys.Count == 0
            ? "Client keys: none, so /v1 is open to anyone who can reach the gateway."
            : $"Client keys: {string.Join(", ", keys.Select(Describe))}.");
        text.AppendLine(CultureInfo.InvariantCulture, $"Limits and budgets counted: {ConfigurationReport.SharedState(snapshot)}.");
        return text.ToString();
    }

    private static string Describe(ClientKey key)
    {
        var limits = new List<string>();
        if (key.RequestsPerMinute is { } perMinute)
        {
            limits.Add(string.Create(CultureInfo.InvariantCulture, $"{perMinute} requests a minute"));
        }

        if (key.MaxConcurrentRequests is { } concurrent)
        {
            limits.Add(string.Create(CultureInfo.InvariantCulture, $"{concurrent} at once"));
        }

        if (key.Budget?.UsdPerDay is { } day)
        {
            limits.Add(string.Create(CultureInfo.InvariantCulture, $"${day} a day"));
        }

        if (key.Budget?.UsdPerMonth is { } month)
        {
            limits.Add(string.Create(CultureInfo.InvariantCulture, $"${month} a month"));
        }

        return limits.Count == 0 ? key.Id : $"{key.Id} ({string.Join(", ", limits)})";
    }

    private static string Describe(ProviderRegistry providers, string name)
    {
        if (!providers.TryGet(name, out var provider))
        {
            return $"UNAVAILABLE: {providers.UnavailableReason(name)} No virtual model uses it.";
        }

        if (provider.IsSimulated)
        {
            return $"SIMULATED, because {provider.SimulatedBecause}. For real answers, {ConfigurationReport.HowToMakeReal(provider)}.";
        }

        var key = provider.Options.ApiKeyEnv is { Length: > 0 } variable ? $"key from {variable}" : "no key";
        return $"{provider.BaseUrl}, {key}";
    }

    private static void DescribeModel(StringBuilder text, VirtualModel model, ConfigurationSnapshot snapshot)
    {
        var simulated = snapshot.SimulatedProviders(model);
        text.AppendLine(CultureInfo.InvariantCulture,
            $"  {model.Id}: {(model.IsAlias ? "an alias, no proposer layers" : $"proposer layers {ConfigurationReport.Shape(model)}")}, " +
            $"{model.UpstreamCallCount} upstream call(s) per request{(simulated.Count == 0 ? "" : $", SIMULATED through {string.Join(", ", simulated.Select(provider => provider.Name))}")}");
        if (model.Description is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {model.Description}");
        }

        for (var i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            var quorum = layer.Quorum is { } count ? $", quorum {count}, stragglers cut {layer.StragglerGrace?.TotalMilliseconds ?? 0:0.###} ms after it" : "";
            text.AppendLine(CultureInfo.InvariantCulture, $"    layer {i + 1} (needs {layer.MinAgents} answer(s){quorum}):");
            foreach (var agent in layer.Agents)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"      {Describe(agent, snapshot)}");
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"    aggregator: {Describe(model.Aggregator, snapshot)}");
        for (var i = 1; i < model.Aggregators.Count; i++)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    fallback {i}: {Describe(model.Aggregators[i], snapshot)}");
        }
    }

    /// <summary>An agent with the settings it runs with (its own, its model's AgentDefaults, else its provider's) and its price.</summary>
    private static string Describe(AgentSpec agent, ConfigurationSnapshot snapshot)
    {
        var provider = snapshot.Providers.Get(agent.Provider);
        var options = provider.Options;
        var price = provider.IsSimulated ? "simulated, so free"
            : snapshot.Prices.Of(agent) is { } known
            ? string.Create(CultureInfo.InvariantCulture,
                $"${known.InputPerMillion} in, ${known.CachedInputPerMillion} cached, ${known.OutputPerMillion} out per million tokens")
            : "no price";
        var firstToken = agent.FirstTokenTimeout?.TotalSeconds ?? options.FirstTokenTimeoutSeconds;
        var timeout = agent.Timeout?.TotalSeconds ?? options.TimeoutSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"{agent}{(agent.Samples is { } samples ? $" sampled {samples} times" : "")} (temperature {(agent.Temperature is { } temperature ? temperature.ToString(CultureInfo.InvariantCulture) : "the model's default")}, " +
            $"max tokens {(agent.MaxTokens is { } maxTokens ? maxTokens.ToString(CultureInfo.InvariantCulture) : "the model's default")}, " +
            $"first token within {firstToken:0.###} s, whole call within {timeout:0.###} s, {price})");
    }
}
