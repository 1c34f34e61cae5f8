using System.Text.Json;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Security;

namespace MoaGateway.Api;

/// <summary>
/// The <c>moa</c> object of a request. Its topology fields replace parts of the named virtual model for this request
/// (<c>layers</c> all its layers, <c>aggregator</c> its aggregator, ...), written as a configured model is (agents as
/// <c>"provider/model"</c> or objects, the model's AgentDefaults filling what they leave unset), checked by the same
/// rules, then against <c>MoaGateway:Overrides</c> and the client key's models. Everything is decided here, before
/// any upstream call; the engine runs the resulting <see cref="VirtualModel"/> and never learns it was overridden.
/// <c>include_proposals</c> replaces nothing: it asks to see the proposers' answers too, unless
/// <c>MoaGateway:Panel:Expose</c> is <c>never</c>.
/// </summary>
public sealed class MoaExtension
{
    /// <summary>The request field that carries the object.</summary>
    public const string Field = "moa";

    private static readonly SettingPath Root = SettingPath.Json(Field);

    private static readonly JsonFields<AgentOptions> AgentFields = new JsonFields<AgentOptions>()
        .Add("provider", (value, at, agent) => Text(value, at, text => agent.Provider = text))
        .Add("model", (value, at, agent) => Text(value, at, text => agent.Model = text))
        .Add("temperature", (value, at, agent) => Number(value, at, number => agent.Temperature = (float)number))
        .Add("max_tokens", (value, at, agent) => Whole(value, at, number => agent.MaxTokens = number))
        .Add("samples", (value, at, agent) => Whole(value, at, number => agent.Samples = number));

    private static readonly JsonFields<LayerOptions> LayerFields = new JsonFields<LayerOptions>()
        .Add("agents", (value, at, layer) => List(value, at, Agent, layer.Agents))
        .Add("min_agents", (value, at, layer) => Whole(value, at, number => layer.MinAgents = number))
        .Add("quorum", (value, at, layer) => Whole(value, at, number => layer.Quorum = number))
        .Add("straggler_grace_ms", (value, at, layer) => Number(value, at, number => layer.StragglerGraceMs = number));

    /// <summary>
    /// The fields of the <c>moa</c> object. A topology field starts with <c>Replace</c>, which refuses it while
    /// overrides are off; a field that changes nothing the upstream models see reads its value and nothing more.
    /// </summary>
    private static readonly JsonFields<Override> Fields = new JsonFields<Override>()
        .Add("layers", (value, at, given) => given.Replace(at) ?? List(value, at, Layer, given.Layers = []))
        .Add("aggregator", (value, at, given) => given.Replace(at) ?? Agent(value, at, agent => given.Aggregator = agent))
        .Add("aggregator_fallbacks", (value, at, given) => given.Replace(at) ?? List(value, at, Agent, given.AggregatorFallbacks = []))
        .Add("aggregate_prompt", (value, at, given) => given.Replace(at) ?? Text(value, at, text => given.AggregatePrompt = text))
        .Add("max_reference_characters", (value, at, given) => given.Replace(at) ?? Whole(value, at, number => given.MaxReferenceCharacters = number))
        .Add("include_proposals", (value, at, given) => Flag(value, at, flag => given.IncludeProposals = flag) ?? given.Expose(at));

    private MoaExtension(VirtualModel model, bool includeProposals)
    {
        Model = model;
        IncludeProposals = includeProposals;
    }

    /// <summary>The virtual model the request runs: the named one, with the parts the request replaced.</summary>
    public VirtualModel Model { get; }

    /// <summary><c>include_proposals</c>: the answer shows what every proposer said (the panel).</summary>
    public bool IncludeProposals { get; }

    /// <summary>A request of <paramref name="model"/> without a <c>moa</c> object: the model as configured, nothing more.</summary>
    public static MoaExtension None(VirtualModel model) => new(model, includeProposals: false);

    /// <summary>The <c>moa</c> object of a request body, when it has one that is not null.</summary>
    public static JsonElement? Find(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(Field, out var moa) && moa.ValueKind != JsonValueKind.Null ? moa : null;

    /// <summary>
    /// Reads <paramref name="moa"/> for a request of <paramref name="model"/>; null, with the error to answer, when it
    /// is refused: 403 <c>overrides_not_allowed</c> for topology while overrides are off, otherwise 400 naming the field.
    /// </summary>
    /// <param name="moa">The request's <c>moa</c> value.</param>
    /// <param name="model">The configured virtual model the request names.</param>
    /// <param name="options">The configuration the request runs on: its providers, the model's options, the overrides' limits.</param>
    /// <param name="key">The client key of the request, whose own <c>AllowedModels</c> apply to the models an override names.</param>
    /// <param name="error">Why the object is refused.</param>
    public static MoaExtension? Read(JsonElement moa, VirtualModel model, GatewayOptions options, ClientKey? key, out OpenAiError? error)
    {
        var given = new Override(options.Overrides, options.Panel);
        error = Fields.Read(moa, Root, given);
        if (error is null && given.Replaces)
        {
            var merged = given.ApplyTo(options.Models[model.Id]);
            error = Bounds(given, options.Overrides) ??
                    Rules(model.Id, merged, options) ??
                    UpstreamCalls(given, merged, options.Overrides) ??
                    Allowed(given, new ModelPatterns(options.Overrides.AllowedModels), key);
            if (error is null)
            {
                model = VirtualModelResolver.Resolve(model.Id, merged);
            }
        }

        return error is null ? new MoaExtension(model, given.IncludeProposals) : null;
    }

    private static OpenAiError? Bounds(Override given, OverridesOptions overrides)
    {
        if (given.Layers is not { } layers)
        {
            return null;
        }

        if (layers.Count > overrides.MaxLayers)
        {
            return TooLarge(Root["Layers"], $"has {layers.Count} layers; an override may have at most {overrides.MaxLayers} (MoaGateway:Overrides:MaxLayers).");
        }

        for (var i = 0; i < layers.Count; i++)
        {
            if (layers[i].Agents.Count > overrides.MaxAgentsPerLayer)
            {
                return TooLarge(Root["Layers"][i]["Agents"],
                    $"has {layers[i].Agents.Count} agents; a layer of an override may have at most {overrides.MaxAgentsPerLayer} (MoaGateway:Overrides:MaxAgentsPerLayer).");
            }
        }

        return null;
    }

    /// <summary>The rules every configured virtual model is held to, naming the request's fields.</summary>
    private static OpenAiError? Rules(string modelId, VirtualModelOptions merged, GatewayOptions options)
    {
        var errors = new GatewayOptionsValidator.Errors();
        GatewayOptionsValidator.ValidateModel(Root, modelId, merged, options.Providers, errors);
        return errors.First is { } first ? OpenAiError.InvalidRequest(first.Message, first.Path) : null;
    }

    /// <summary>
    /// Every call the request may make, retries aside: each proposer call (samples counted), the aggregator and each
    /// fallback. The configured parts are counted first; the request's own are then added in order, and the first that
    /// takes the count beyond the limit is the field named.
    /// </summary>
    private static OpenAiError? UpstreamCalls(Override given, VirtualModelOptions merged, OverridesOptions overrides)
    {
        var parts = new List<(SettingPath? At, int Calls)>();
        for (var layer = 0; layer < merged.Layers.Count; layer++)
        {
            for (var agent = 0; agent < merged.Layers[layer].Agents.Count; agent++)
            {
                var samples = merged.Layers[layer].Agents[agent].Samples;
                var at = Root["Layers"][layer]["Agents"][agent];
                parts.Add((given.Layers is null ? null : samples is null ? at : at["Samples"], samples ?? 1));
            }
        }

        parts.Add((given.Aggregator is null ? null : Root["Aggregator"], 1));
        for (var fallback = 0; fallback < merged.AggregatorFallbacks.Count; fallback++)
        {
            parts.Add((given.AggregatorFallbacks is null ? null : Root["AggregatorFallbacks"][fallback], 1));
        }

        var total = parts.Sum(part => part.Calls);
        var running = 0;
        foreach (var (at, calls) in parts.OrderBy(part => part.At is not null))
        {
            running += calls;
            if (running > overrides.MaxUpstreamCalls)
            {
                return TooLarge(at ?? Root,
                    $"takes the request to {total} upstream calls (every proposer call and sample, the aggregator and its fallbacks); " +
                    $"a request with an override may make at most {overrides.MaxUpstreamCalls} (MoaGateway:Overrides:MaxUpstreamCalls).");
            }
        }

        return null;
    }

    /// <summary>Each model the override names must be one overrides may use, and one the client key may use.</summary>
    private static OpenAiError? Allowed(Override given, ModelPatterns overrideModels, ClientKey? key)
    {
        foreach (var (at, agent) in given.Agents())
        {
            agent.TryGetName(out var name);
            var model = name.ToString();
            if (!overrideModels.Allows(model))
            {
                return NotAllowed(at, $"names '{model}', which overrides may not use (MoaGateway:Overrides:AllowedModels).");
            }

            if (key?.MayUse(model) == false)
            {
                return NotAllowed(at, $"names '{model}', which this API key is not allowed to use.");
            }
        }

        return null;
    }

    private static OpenAiError TooLarge(SettingPath at, string message) =>
        OpenAiError.InvalidRequest($"{at} {message}", at.Path, "override_limit_exceeded");

    private static OpenAiError NotAllowed(SettingPath at, string message) =>
        OpenAiError.InvalidRequest($"{at} {message}", at.Path, "model_not_allowed");

    private static OpenAiError? Layer(JsonElement value, SettingPath at, Action<LayerOptions> add)
    {
        var layer = new LayerOptions();
        var error = LayerFields.Read(value, at, layer);
        add(layer);
        return error;
    }

    /// <summary>An agent as configuration writes one: <c>"provider/model"</c>, or an object.</summary>
    private static OpenAiError? Agent(JsonElement value, SettingPath at, Action<AgentOptions> set)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            // Kept as written, so a problem with its provider names the agent, not a provider field it does not have.
            set(new AgentOptions { Model = text });
            return AgentOptions.Parse(text) is null ? OpenAiError.InvalidRequest(GatewayOptionsValidator.NotAnAgent(at, text), at.Path) : null;
        }

        var agent = new AgentOptions();
        set(agent);
        return value.ValueKind == JsonValueKind.Object
            ? AgentFields.Read(value, at, agent)
            : OpenAiError.InvalidRequest($"{at} must be an agent: \"<provider>/<model>\", or an object with model and optional provider, temperature, max_tokens, samples.", at.Path);
    }

    private static OpenAiError? List<T>(JsonElement value, SettingPath at, Func<JsonElement, SettingPath, Action<T>, OpenAiError?> item, List<T> into)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return OpenAiError.InvalidRequest($"{at} must be an array.", at.Path);
        }

        var index = 0;
        foreach (var element in value.EnumerateArray())
        {
            if (item(element, at[index++], into.Add) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static OpenAiError? Text(JsonElement value, SettingPath at, Action<string> set)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"{at} must be a string.", at.Path);
        }

        set(value.GetString()!);
        return null;
    }

    private static OpenAiError? Number(JsonElement value, SettingPath at, Action<double> set)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            return OpenAiError.InvalidRequest($"{at} must be a number.", at.Path);
        }

        set(value.GetDouble());
        return null;
    }

    private static OpenAiError? Flag(JsonElement value, SettingPath at, Action<bool> set)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return OpenAiError.InvalidRequest($"{at} must be true or false.", at.Path);
        }

        set(value.GetBoolean());
        return null;
    }

    private static OpenAiError? Whole(JsonElement value, SettingPath at, Action<int> set)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            return OpenAiError.InvalidRequest($"{at} must be a whole number.", at.Path);
        }

        set(number);
        return null;
    }

    /// <summary>The parts of the virtual model a request's <c>moa</c> object gave; a part left null is the configured model's.</summary>
    private sealed class Override(OverridesOptions overrides, PanelOptions panel)
    {
        public List<LayerOptions>? Layers { get; set; }

        public AgentOptions? Aggregator { get; set; }

        public List<AgentOptions>? AggregatorFallbacks { get; set; }

        public string? AggregatePrompt { get; set; }

        public int? MaxReferenceCharacters { get; set; }

        public bool IncludeProposals { get; set; }

        /// <summary>Whether any part of the virtual model is replaced.</summary>
        public bool Replaces { get; private set; }

        /// <summary>Notes that the field at <paramref name="at"/> replaces a part of the model; refused while overrides are off.</summary>
        public OpenAiError? Replace(SettingPath at)
        {
            Replaces = true;
            return overrides.Enabled ? null : OpenAiError.OverridesNotAllowed(at.Path);
        }

        /// <summary>Refuses the panel the field at <paramref name="at"/> asked for while the gateway shows it to no one.</summary>
        public OpenAiError? Expose(SettingPath at) =>
            IncludeProposals && panel.Expose == PanelOptions.Never ? OpenAiError.PanelNotAllowed(at.Path) : null;

        /// <summary>The configured model with the parts this request gave in their place.</summary>
        public VirtualModelOptions ApplyTo(VirtualModelOptions configured) => new()
        {
            Description = configured.Description,
            AgentDefaults = configured.AgentDefaults,
            Layers = Layers ?? configured.Layers,
            Aggregator = Aggregator ?? configured.Aggregator,
            AggregatorFallbacks = AggregatorFallbacks ?? configured.AggregatorFallbacks,
            // A configured prompt has nothing to synthesize once the request took every layer away.
            AggregatePrompt = AggregatePrompt ?? (Layers is [] ? null : configured.AggregatePrompt),
            MaxReferenceCharacters = MaxReferenceCharacters ?? configured.MaxReferenceCharacters,
        };

        /// <summary>The agents this request names, with where it names them.</summary>
        public IEnumerable<(SettingPath At, AgentOptions Agent)> Agents()
        {
            for (var layer = 0; layer < (Layers?.Count ?? 0); layer++)
            {
                for (var agent = 0; agent < Layers![layer].Agents.Count; agent++)
                {
                    yield return (Root["Layers"][layer]["Agents"][agent], Layers[layer].Agents[agent]);
                }
            }

            if (Aggregator is not null)
            {
                yield return (Root["Aggregator"], Aggregator);
            }

            for (var fallback = 0; fallback < (AggregatorFallbacks?.Count ?? 0); fallback++)
            {
                yield return (Root["AggregatorFallbacks"][fallback], AggregatorFallbacks![fallback]);
            }
        }
    }
}
