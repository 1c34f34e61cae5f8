using Microsoft.Extensions.Options;

namespace MoaGateway.Configuration;

/// <summary>Refuses a configuration that cannot serve requests, naming the offending key in configuration-path form.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private const string Root = GatewayOptions.SectionName;

    /// <summary>More samples of one agent than anyone means: a mistake, and one that would overflow a count of calls.</summary>
    private const int MaxSamples = 100;

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
            ValidateModel(SettingPath.Key($"{Root}:Models:{modelId}"), modelId, model, options.Providers, errors);
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

        ValidateOverrides($"{Root}:Overrides", options, errors);
        errors.If(options.Panel.Expose is not (PanelOptions.OnRequest or PanelOptions.Never),
            $"{Root}:Panel:Expose '{options.Panel.Expose}' is not supported: use '{PanelOptions.OnRequest}' or '{PanelOptions.Never}'.");
        return errors.Result;
    }

    private static void ValidateOverrides(string key, GatewayOptions options, Errors errors)
    {
        var overrides = options.Overrides;
        errors.Positive($"{key}:MaxLayers", overrides.MaxLayers);
        errors.Positive($"{key}:MaxAgentsPerLayer", overrides.MaxAgentsPerLayer);
        errors.Positive($"{key}:MaxUpstreamCalls", overrides.MaxUpstreamCalls);
        for (var i = 0; i < overrides.AllowedModels.Count; i++)
        {
            if (ModelPatterns.EntryError(overrides.AllowedModels[i], options, virtualModels: false) is { } error)
            {
                errors.Add($"{key}:AllowedModels:{i} {error}");
            }
        }
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

        for (var i = 0; i < provider.Models.Count; i++)
        {
            var model = provider.Models[i];
            var first = provider.Models.FindIndex(other => string.Equals(other, model, StringComparison.Ordinal));
            errors.If(string.IsNullOrWhiteSpace(model), $"{key}:Models:{i} is blank: give a model id as the provider spells it.");
            errors.If(first < i && !string.IsNullOrWhiteSpace(model), $"{key}:Models:{i} '{model}' is listed already, as {key}:Models:{first}.");
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

    /// <summary>
    /// The rules of a virtual model, for a configured one and for a request's override merged into one alike: the
    /// problems name their places through <paramref name="key"/>, as configuration keys or as the request's JSON.
    /// </summary>
    internal static void ValidateModel(
        SettingPath key, string modelId, VirtualModelOptions model, Dictionary<string, ProviderOptions> providers, Errors errors)
    {
        errors.If(modelId.Contains('/', StringComparison.Ordinal),
            $"{key}: a virtual model id cannot contain '/', which marks a pass-through '<provider>/<model>' name.");
        ValidateSettings(key["AgentDefaults"], model.AgentDefaults, errors);

        for (var layer = 0; layer < model.Layers.Count; layer++)
        {
            ValidateLayer(key["Layers"][layer], model.Layers[layer], providers, errors);
        }

        if (model.Aggregator is null)
        {
            errors.Add(key["Aggregator"], $"is missing: a virtual model needs an aggregator (with no {key.Name("Layers")}, the model is an alias of it).");
        }
        else
        {
            ValidateAgent(key["Aggregator"], model.Aggregator, providers, errors, proposer: false);
        }

        for (var fallback = 0; fallback < model.AggregatorFallbacks.Count; fallback++)
        {
            ValidateAgent(key["AggregatorFallbacks"][fallback], model.AggregatorFallbacks[fallback], providers, errors, proposer: false);
        }

        errors.If(model.AggregatePrompt is { } prompt && string.IsNullOrWhiteSpace(prompt),
            key["AggregatePrompt"], "is blank: remove it to use the default prompt.");
        errors.If(model.AggregatePrompt is not null && model.Layers.Count == 0, key["AggregatePrompt"],
            $"has no effect: a model without {key.Name("Layers")} is an alias, whose aggregator gets the conversation unchanged.");
        errors.If(model.MaxReferenceCharacters is < 1, key["MaxReferenceCharacters"], "must be at least 1.");
    }

    /// <summary>Why <paramref name="value"/>, written where an agent goes, is not one.</summary>
    internal static string NotAnAgent(SettingPath key, string value) =>
        $"{key} '{value}' is not an agent: write '<provider>/<model>', or an object with {key.Name("Provider")} and {key.Name("Model")}.";

    private static void ValidateLayer(SettingPath key, LayerOptions layer, Dictionary<string, ProviderOptions> providers, Errors errors)
    {
        if (layer.Agents.Count == 0)
        {
            errors.Add(key["Agents"], "is empty: every layer needs at least one agent.");
            return;
        }

        for (var agent = 0; agent < layer.Agents.Count; agent++)
        {
            ValidateAgent(key["Agents"][agent], layer.Agents[agent], providers, errors, proposer: true);
        }

        // Samples are answers like any other: the layer's counts are of calls (in a long: samples refused as too many may still be summed here).
        var calls = layer.Agents.Sum(agent => (long)Math.Max(agent.Samples ?? 1, 1));
        var answers = calls == layer.Agents.Count ? $"the layer's {calls} agents" : $"the {calls} calls of the layer's agents and their samples";
        errors.If(layer.MinAgents < 1 || layer.MinAgents > calls, key["MinAgents"], $"must be between 1 and {answers}.");
        errors.If(layer.Quorum is { } quorum && (quorum < layer.MinAgents || quorum > calls),
            key["Quorum"], $"must be between {key.Name("MinAgents")} ({layer.MinAgents}) and {answers}.");
        errors.If(layer.StragglerGraceMs is < 0, key["StragglerGraceMs"], "must not be negative.");
        errors.If(layer.StragglerGraceMs is not null && layer.Quorum is null, key["StragglerGraceMs"], $"needs a {key.Name("Quorum")}.");
    }

    private static void ValidateAgent(
        SettingPath key, AgentOptions agent, Dictionary<string, ProviderOptions> providers, Errors errors, bool proposer)
    {
        if (!agent.TryGetName(out var name))
        {
            errors.If(string.IsNullOrWhiteSpace(agent.Provider), key["Provider"], $"is required, unless {key.Name("Model")} is '<provider>/<model>'.");
            errors.If(string.IsNullOrWhiteSpace(agent.Model), key["Model"], "is required.");
        }
        else if (!providers.ContainsKey(name.Provider))
        {
            var known = providers.Count == 0 ? "none configured" : string.Join(", ", providers.Keys.Order(StringComparer.Ordinal));
            if (string.IsNullOrWhiteSpace(agent.Provider))
            {
                errors.Add(key, $"names provider '{name.Provider}', which is not configured (known: {known}).");
            }
            else
            {
                errors.Add(key["Provider"], $"'{name.Provider}' is not a configured provider (known: {known}).");
            }
        }

        ValidateSettings(key, agent, errors);
        errors.If(agent.Samples is < 1 or > MaxSamples, key["Samples"], $"must be between 1 and {MaxSamples}.");
        errors.If(agent.Samples is not null && !proposer, key["Samples"],
            "applies to proposers only: the aggregator answers once, and its fallbacks only when it fails.");
    }

    private static void ValidateSettings(SettingPath key, AgentSettings settings, Errors errors)
    {
        errors.If(settings.Temperature is < 0 or > 2, key["Temperature"], "must be between 0 and 2.");
        errors.If(settings.MaxTokens is < 1, key["MaxTokens"], "must be at least 1.");
        errors.If(settings.FirstTokenTimeoutSeconds is <= 0, key["FirstTokenTimeoutSeconds"], "must be greater than 0.");
        errors.If(settings.TimeoutSeconds is <= 0, key["TimeoutSeconds"], "must be greater than 0.");
    }

    /// <summary>The problems found, each with the path of the setting it is about where there is one.</summary>
    internal sealed class Errors
    {
        private readonly List<(string? Path, string Message)> _problems = [];

        public ValidateOptionsResult Result =>
            _problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_problems.Select(problem => problem.Message));

        /// <summary>The first problem: a request's override is refused with one error, naming one field.</summary>
        public (string? Path, string Message)? First => _problems.Count == 0 ? null : _problems[0];

        public void Add(string message) => _problems.Add((null, message));

        /// <summary>A problem of the setting at <paramref name="key"/>; the message follows its path.</summary>
        public void Add(SettingPath key, string message) => _problems.Add((key.Path, $"{key} {message}"));

        public void If(bool failed, string message)
        {
            if (failed)
            {
                Add(message);
            }
        }

        public void If(bool failed, SettingPath key, string message)
        {
            if (failed)
            {
                Add(key, message);
            }
        }

        public void Positive(string key, double value) => If(value <= 0, $"{key} must be greater than 0.");
    }
}
