using Microsoft.Extensions.Options;

namespace MoaGateway.Configuration;

/// <summary>Refuses a configuration that cannot serve requests, naming the offending key in configuration-path form.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private const string Root = GatewayOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        foreach (var (providerName, provider) in options.Providers)
        {
            ValidateProvider($"{Root}:Providers:{providerName}", provider, errors);
        }

        if (options.Models.Count == 0)
        {
            errors.Add($"{Root}:Models is empty: configure at least one virtual model.");
        }

        foreach (var (modelId, model) in options.Models)
        {
            ValidateModel($"{Root}:Models:{modelId}", modelId, model, options.Providers, errors);
        }

        if (options.KeepAliveSeconds <= 0)
        {
            errors.Add($"{Root}:KeepAliveSeconds must be greater than 0.");
        }

        if (options.Readiness.ProbeTimeoutSeconds <= 0 || options.Readiness.ProbeCacheSeconds < 0)
        {
            errors.Add($"{Root}:Readiness needs ProbeTimeoutSeconds > 0 and ProbeCacheSeconds >= 0.");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            errors.Add($"{Root}:MaxRequestBodyBytes must be greater than 0.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateProvider(string key, ProviderOptions provider, List<string> errors)
    {
        if (provider.Type is not (ProviderTypes.OpenAi or ProviderTypes.Simulated))
        {
            errors.Add($"{key}:Type '{provider.Type}' is not supported: use '{ProviderTypes.OpenAi}' or '{ProviderTypes.Simulated}'.");
        }

        var isSimulated = provider.Type == ProviderTypes.Simulated;
        if (!isSimulated && string.IsNullOrWhiteSpace(provider.BaseUrl))
        {
            errors.Add($"{key}:BaseUrl is required.");
        }
        else if (provider.BaseUrl is { Length: > 0 } url &&
                 (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"{key}:BaseUrl '{url}' is not an absolute http(s) URL.");
        }

        if (provider.TimeoutSeconds <= 0)
        {
            errors.Add($"{key}:TimeoutSeconds must be greater than 0.");
        }

        if (provider.MaxTokensField is not ("max_tokens" or "max_completion_tokens"))
        {
            errors.Add($"{key}:MaxTokensField must be 'max_tokens' or 'max_completion_tokens'.");
        }

        var simulation = provider.Simulation;
        if (simulation.TimeToFirstTokenMs < 0 || simulation.TokensPerSecond < 0 || simulation.AnswerTokens < 1)
        {
            errors.Add($"{key}:Simulation needs TimeToFirstTokenMs >= 0, TokensPerSecond >= 0 and AnswerTokens >= 1.");
        }
    }

    private static void ValidateModel(
        string key, string modelId, VirtualModelOptions model, Dictionary<string, ProviderOptions> providers, List<string> errors)
    {
        if (modelId.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"{key}: a virtual model id cannot contain '/', which marks a pass-through '<provider>/<model>' name.");
        }

        if (model.Layers.Count == 0)
        {
            errors.Add($"{key}:Layers is empty: a virtual model needs at least one proposer layer.");
        }

        for (var layer = 0; layer < model.Layers.Count; layer++)
        {
            var agents = model.Layers[layer].Agents;
            if (agents.Count == 0)
            {
                errors.Add($"{key}:Layers:{layer}:Agents is empty: every layer needs at least one agent.");
            }

            for (var agent = 0; agent < agents.Count; agent++)
            {
                ValidateAgent($"{key}:Layers:{layer}:Agents:{agent}", agents[agent], providers, errors);
            }
        }

        if (model.Aggregator is null)
        {
            errors.Add($"{key}:Aggregator is missing: a virtual model needs an aggregator.");
        }
        else
        {
            ValidateAgent($"{key}:Aggregator", model.Aggregator, providers, errors);
        }

        if (model.AggregatePrompt is { } prompt && string.IsNullOrWhiteSpace(prompt))
        {
            errors.Add($"{key}:AggregatePrompt is blank: remove it to use the default prompt.");
        }
    }

    private static void ValidateAgent(string key, AgentOptions agent, Dictionary<string, ProviderOptions> providers, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(agent.Provider))
        {
            errors.Add($"{key}:Provider is required.");
        }
        else if (!providers.ContainsKey(agent.Provider))
        {
            var known = providers.Count == 0 ? "none configured" : string.Join(", ", providers.Keys.Order(StringComparer.Ordinal));
            errors.Add($"{key}:Provider '{agent.Provider}' is not a configured provider (known: {known}).");
        }

        if (string.IsNullOrWhiteSpace(agent.Model))
        {
            errors.Add($"{key}:Model is required.");
        }

        if (agent.Temperature is < 0 or > 2)
        {
            errors.Add($"{key}:Temperature must be between 0 and 2.");
        }

        if (agent.MaxTokens is < 1)
        {
            errors.Add($"{key}:MaxTokens must be at least 1.");
        }
    }
}
