using Microsoft.Extensions.Options;

namespace MoaGateway.Configuration;

/// <summary>Refuses a configuration that cannot serve requests, naming the offending key in configuration-path form.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private const string Root = GatewayOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new Errors();
        foreach (var (providerName, provider) in options.Providers)
        {
            ValidateProvider($"{Root}:Providers:{providerName}", provider, errors);
        }

        errors.If(options.Models.Count == 0, $"{Root}:Models is empty: configure at least one virtual model.");
        foreach (var (modelId, model) in options.Models)
        {
            ValidateModel($"{Root}:Models:{modelId}", modelId, model, options.Providers, errors);
        }

        errors.Positive($"{Root}:KeepAliveSeconds", options.KeepAliveSeconds);
        errors.Positive($"{Root}:RequestTimeoutSeconds", options.RequestTimeoutSeconds);
        errors.If(options.ShutdownDrainSeconds < 0, $"{Root}:ShutdownDrainSeconds must not be negative.");

        var limits = options.Limits;
        errors.Positive($"{Root}:Limits:MaxRequestBodyBytes", limits.MaxRequestBodyBytes);
        errors.Positive($"{Root}:Limits:MaxMessages", limits.MaxMessages);
        errors.Positive($"{Root}:Limits:MaxTotalCharacters", limits.MaxTotalCharacters);
        errors.Positive($"{Root}:Limits:MaxConcurrentRequests", limits.MaxConcurrentRequests);

        errors.Positive($"{Root}:Readiness:ProbeTimeoutSeconds", options.Readiness.ProbeTimeoutSeconds);
        errors.If(options.Readiness.ProbeCacheSeconds < 0, $"{Root}:Readiness:ProbeCacheSeconds must not be negative.");

        return errors.Result;
    }

    private static void ValidateProvider(string key, ProviderOptions provider, Errors errors)
    {
        errors.If(provider.Type is not (ProviderTypes.OpenAi or ProviderTypes.Simulated),
            $"{key}:Type '{provider.Type}' is not supported: use '{ProviderTypes.OpenAi}' or '{ProviderTypes.Simulated}'.");

        if (provider.Type != ProviderTypes.Simulated && string.IsNullOrWhiteSpace(provider.BaseUrl))
        {
            errors.Add($"{key}:BaseUrl is required.");
        }
        else if (provider.BaseUrl is { Length: > 0 } url &&
                 (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"{key}:BaseUrl '{url}' is not an absolute http(s) URL.");
        }

        errors.Positive($"{key}:ConnectTimeoutSeconds", provider.ConnectTimeoutSeconds);
        errors.Positive($"{key}:FirstTokenTimeoutSeconds", provider.FirstTokenTimeoutSeconds);
        errors.Positive($"{key}:TimeoutSeconds", provider.TimeoutSeconds);
        errors.Positive($"{key}:MaxConcurrentCalls", provider.MaxConcurrentCalls);
        errors.If(provider.MaxTokensField is not ("max_tokens" or "max_completion_tokens"),
            $"{key}:MaxTokensField must be 'max_tokens' or 'max_completion_tokens'.");

        var retry = provider.Retry;
        errors.If(retry.MaxRetries < 0, $"{key}:Retry:MaxRetries must not be negative.");
        errors.If(retry.BaseDelayMs < 0 || retry.MaxDelayMs < retry.BaseDelayMs,
            $"{key}:Retry needs BaseDelayMs >= 0 and MaxDelayMs >= BaseDelayMs.");
        errors.If(retry.MaxRetryAfterSeconds < 0, $"{key}:Retry:MaxRetryAfterSeconds must not be negative.");

        var breaker = provider.CircuitBreaker;
        errors.If(breaker.FailureRatio is <= 0 or > 1, $"{key}:CircuitBreaker:FailureRatio must be in (0, 1].");
        errors.If(breaker.MinimumThroughput < 2, $"{key}:CircuitBreaker:MinimumThroughput must be at least 2.");
        errors.If(breaker.SamplingSeconds < 0.5, $"{key}:CircuitBreaker:SamplingSeconds must be at least 0.5.");
        errors.If(breaker.BreakSeconds < 0.5, $"{key}:CircuitBreaker:BreakSeconds must be at least 0.5.");

        var simulation = provider.Simulation;
        errors.If(simulation.TimeToFirstTokenMs < 0 || simulation.TokensPerSecond < 0 || simulation.AnswerTokens < 1,
            $"{key}:Simulation needs TimeToFirstTokenMs >= 0, TokensPerSecond >= 0 and AnswerTokens >= 1.");
    }

    private static void ValidateModel(
        string key, string modelId, VirtualModelOptions model, Dictionary<string, ProviderOptions> providers, Errors errors)
    {
        errors.If(modelId.Contains('/', StringComparison.Ordinal),
            $"{key}: a virtual model id cannot contain '/', which marks a pass-through '<provider>/<model>' name.");
        ValidateSettings($"{key}:AgentDefaults", model.AgentDefaults, errors);

        for (var layer = 0; layer < model.Layers.Count; layer++)
        {
            ValidateLayer($"{key}:Layers:{layer}", model.Layers[layer], providers, errors);
        }

        if (model.Aggregator is null)
        {
            errors.Add($"{key}:Aggregator is missing: a virtual model needs an aggregator (with no Layers, the model is an alias of it).");
        }
        else
        {
            ValidateAgent($"{key}:Aggregator", model.Aggregator, providers, errors);
        }

        for (var fallback = 0; fallback < model.AggregatorFallbacks.Count; fallback++)
        {
            ValidateAgent($"{key}:AggregatorFallbacks:{fallback}", model.AggregatorFallbacks[fallback], providers, errors);
        }

        errors.If(model.AggregatePrompt is { } prompt && string.IsNullOrWhiteSpace(prompt),
            $"{key}:AggregatePrompt is blank: remove it to use the default prompt.");
        errors.If(model.AggregatePrompt is not null && model.Layers.Count == 0,
            $"{key}:AggregatePrompt has no effect: a model without Layers is an alias, whose aggregator gets the conversation unchanged.");
    }

    private static void ValidateLayer(string key, LayerOptions layer, Dictionary<string, ProviderOptions> providers, Errors errors)
    {
        var count = layer.Agents.Count;
        if (count == 0)
        {
            errors.Add($"{key}:Agents is empty: every layer needs at least one agent.");
            return;
        }

        for (var agent = 0; agent < count; agent++)
        {
            ValidateAgent($"{key}:Agents:{agent}", layer.Agents[agent], providers, errors);
        }

        errors.If(layer.MinAgents < 1 || layer.MinAgents > count, $"{key}:MinAgents must be between 1 and the layer's {count} agents.");
        errors.If(layer.Quorum is { } quorum && (quorum < layer.MinAgents || quorum > count),
            $"{key}:Quorum must be between MinAgents ({layer.MinAgents}) and the layer's {count} agents.");
        errors.If(layer.StragglerGraceMs is < 0, $"{key}:StragglerGraceMs must not be negative.");
        errors.If(layer.StragglerGraceMs is not null && layer.Quorum is null, $"{key}:StragglerGraceMs needs a Quorum.");
    }

    private static void ValidateAgent(string key, AgentOptions agent, Dictionary<string, ProviderOptions> providers, Errors errors)
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

        errors.If(string.IsNullOrWhiteSpace(agent.Model), $"{key}:Model is required.");
        ValidateSettings(key, agent, errors);
    }

    private static void ValidateSettings(string key, AgentSettings settings, Errors errors)
    {
        errors.If(settings.Temperature is < 0 or > 2, $"{key}:Temperature must be between 0 and 2.");
        errors.If(settings.MaxTokens is < 1, $"{key}:MaxTokens must be at least 1.");
        errors.If(settings.FirstTokenTimeoutSeconds is <= 0, $"{key}:FirstTokenTimeoutSeconds must be greater than 0.");
        errors.If(settings.TimeoutSeconds is <= 0, $"{key}:TimeoutSeconds must be greater than 0.");
    }

    internal sealed class Errors
    {
        private readonly List<string> _messages = [];

        public ValidateOptionsResult Result => _messages.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_messages);

        public void Add(string message) => _messages.Add(message);

        public void If(bool failed, string message)
        {
            if (failed)
            {
                _messages.Add(message);
            }
        }

        public void Positive(string key, double value) => If(value <= 0, $"{key} must be greater than 0.");
    }
}
