using System.ComponentModel;
using System.Text.Json.Serialization;

namespace MoaGateway.Configuration;

/// <summary>The <c>MoaGateway</c> section of configuration: upstream providers and the virtual models built on them.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "MoaGateway";

    public Dictionary<string, ProviderOptions> Providers { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, VirtualModelOptions> Models { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Serve providers whose API key variable is unset from the built-in simulator instead of refusing to start.
    /// Unset means: only in the Development environment.
    /// </summary>
    public bool? SimulateProvidersWithoutKeys { get; set; }

    /// <summary>Interval of SSE comment lines sent while proposer layers run, so idle-timeouts of clients and proxies do not fire.</summary>
    public double KeepAliveSeconds { get; set; } = 2;

    /// <summary>Upper bound on one whole request, every layer and the aggregator included.</summary>
    public double RequestTimeoutSeconds { get; set; } = 600;

    /// <summary>On shutdown, in-flight requests get this long to finish before they are ended with an error.</summary>
    public double ShutdownDrainSeconds { get; set; } = 30;

    public RequestLimitOptions Limits { get; init; } = new();

    public AuthOptions Auth { get; init; } = new();

    public GatewayCorsOptions Cors { get; init; } = new();

    public ReadinessOptions Readiness { get; init; } = new();

    public LoggingOptions Logging { get; init; } = new();

    public ManagementOptions Management { get; init; } = new();

    public PlaygroundOptions Playground { get; init; } = new();

    public OverridesOptions Overrides { get; init; } = new();

    public PanelOptions Panel { get; init; } = new();

    /// <summary>US dollars per million tokens of upstream models; a call of a model without a price has no cost.</summary>
    public List<PriceOptions> Pricing { get; init; } = [];

    public SharedStateOptions SharedState { get; init; } = new();
}

/// <summary>Whether a request may see what the proposers said (<c>moa.include_proposals</c>), beside the aggregator's answer.</summary>
public sealed class PanelOptions
{
    /// <summary>Shown to any request that asks for it.</summary>
    public const string OnRequest = "on-request";

    /// <summary>Refused: proposers' answers stay inside the gateway.</summary>
    public const string Never = "never";

    public string Expose { get; set; } = OnRequest;
}

/// <summary>
/// Whether, and how far, a request may replace parts of its virtual model with its <c>moa</c> object. Off by default:
/// an override chooses which upstream models are called, and how many times.
/// </summary>
public sealed class OverridesOptions
{
    public bool Enabled { get; set; }

    public int MaxLayers { get; set; } = 3;

    /// <summary>Agents a layer of an override may list; their samples are bounded by <see cref="MaxUpstreamCalls"/>.</summary>
    public int MaxAgentsPerLayer { get; set; } = 8;

    /// <summary>The most upstream calls a request with an override may make, retries aside: every sample, the aggregator and its fallbacks.</summary>
    public int MaxUpstreamCalls { get; set; } = 20;

    /// <summary>The models an override may name: <c>&lt;provider&gt;/&lt;model&gt;</c>, <c>&lt;provider&gt;/*</c> or <c>*</c>; empty allows every model of every provider.</summary>
    public List<string> AllowedModels { get; init; } = [];
}

/// <summary>The management port: Prometheus' <c>/metrics</c>, never on the public port. Read at start-up only.</summary>
public sealed class ManagementOptions
{
    /// <summary>Unset: no management port, and no <c>/metrics</c> at all.</summary>
    public int? Port { get; set; }
}

/// <summary>The browser page at <c>/playground</c>, which runs requests through the public API like any client.</summary>
public sealed class PlaygroundOptions
{
    /// <summary>Unset means: only in the Development environment.</summary>
    public bool? Enabled { get; set; }
}

public sealed class LoggingOptions
{
    /// <summary>Log each request's messages and answer. Off by default: prompts and answers are the users' data.</summary>
    public bool IncludeContent { get; set; }
}

/// <summary>Bounds on what one request may ask, and on how many run at once.</summary>
public sealed class RequestLimitOptions
{
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    public int MaxMessages { get; set; } = 1000;

    /// <summary>Total characters of text over all messages.</summary>
    public int MaxTotalCharacters { get; set; } = 1_000_000;

    /// <summary>Chat requests served at once; more get 429 with Retry-After.</summary>
    public int MaxConcurrentRequests { get; set; } = 512;
}

/// <summary>What <c>/readyz</c> checks beyond a valid configuration.</summary>
public sealed class ReadinessOptions
{
    public bool ProbeProviders { get; set; }

    public double ProbeTimeoutSeconds { get; set; } = 2;

    public double ProbeCacheSeconds { get; set; } = 15;
}

public sealed class ProviderOptions
{
    /// <summary><c>openai</c> (any OpenAI-compatible server) or <c>simulated</c>.</summary>
    public string Type { get; set; } = ProviderTypes.OpenAi;

    /// <summary>The OpenAI-compatible base URL, including <c>/v1</c>.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Name of the environment variable that holds the API key; the key itself never sits in configuration.</summary>
    public string? ApiKeyEnv { get; set; }

    public Dictionary<string, string> Headers { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The model ids the provider offers, spelt as it spells them, for <c>GET /v1/models</c> to list as
    /// <c>&lt;provider&gt;/&lt;model&gt;</c>. Pass-through does not depend on it: a model left out is still forwarded.
    /// Left out of JSON because a reload tells a changed provider by its settings as JSON: the list is not how the
    /// provider is called, so a reload that changes only it keeps the provider's connections and circuit breakers.
    /// </summary>
    [JsonIgnore]
    public List<string> Models { get; init; } = [];

    /// <summary>Upper bound on opening a TCP (and TLS) connection; connections are pooled per provider.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Upper bound from sending a request to its first streamed token; agents may override it.</summary>
    public double FirstTokenTimeoutSeconds { get; set; } = 60;

    /// <summary>Upper bound on one upstream call, from sending the request to its last byte; agents may override it.</summary>
    public double TimeoutSeconds { get; set; } = 120;

    /// <summary>Calls in flight to this provider at once; further calls wait, so one slow provider cannot take every slot.</summary>
    public int MaxConcurrentCalls { get; set; } = 256;

    /// <summary>
    /// The request field that carries an agent's configured <c>MaxTokens</c>. <c>max_tokens</c> is what most
    /// OpenAI-compatible servers accept; OpenAI's reasoning models need <c>max_completion_tokens</c>.
    /// </summary>
    public string MaxTokensField { get; set; } = "max_tokens";

    public RetryOptions Retry { get; init; } = new();

    public CircuitBreakerOptions CircuitBreaker { get; init; } = new();

    public SimulationOptions Simulation { get; init; } = new();
}

public static class ProviderTypes
{
    public const string OpenAi = "openai";
    public const string Simulated = "simulated";
}

/// <summary>Retries of 429, 5xx, connection failures and first-token timeouts, with exponential backoff and jitter.</summary>
public sealed class RetryOptions
{
    public int MaxRetries { get; set; } = 2;

    public double BaseDelayMs { get; set; } = 250;

    public double MaxDelayMs { get; set; } = 4000;

    /// <summary>A longer <c>Retry-After</c> from the provider is not waited out: the call fails instead.</summary>
    public double MaxRetryAfterSeconds { get; set; } = 10;
}

/// <summary>Stops calling a provider that keeps failing, so retries of many requests do not hammer it.</summary>
public sealed class CircuitBreakerOptions
{
    public bool Enabled { get; set; } = true;

    public double FailureRatio { get; set; } = 0.5;

    public int MinimumThroughput { get; set; } = 20;

    public double SamplingSeconds { get; set; } = 30;

    public double BreakSeconds { get; set; } = 15;
}

/// <summary>Pacing of the built-in simulated provider.</summary>
public sealed class SimulationOptions
{
    public double TimeToFirstTokenMs { get; set; } = 200;

    /// <summary>0 streams every token at once after the first.</summary>
    public double TokensPerSecond { get; set; } = 40;

    public int AnswerTokens { get; set; } = 40;
}

public sealed class VirtualModelOptions
{
    public string? Description { get; set; }

    /// <summary>Settings for every agent of this model (proposers, aggregator, fallbacks) that leaves them unset.</summary>
    public AgentSettings AgentDefaults { get; init; } = new();

    /// <summary>Proposer layers; none makes the model an alias of its aggregator, with its fallbacks.</summary>
    public List<LayerOptions> Layers { get; init; } = [];

    public AgentOptions? Aggregator { get; set; }

    /// <summary>Tried in order when the aggregator (after its retries) fails before its first token.</summary>
    public List<AgentOptions> AggregatorFallbacks { get; init; } = [];

    /// <summary>Overrides the Aggregate-and-Synthesize prompt (Table 1 of the Mixture-of-Agents paper).</summary>
    public string? AggregatePrompt { get; set; }

    /// <summary>Longer answers are cut to this many characters, with a visible marker, before the next layer reads them. Unset: no cap.</summary>
    public int? MaxReferenceCharacters { get; set; }
}

public sealed class LayerOptions
{
    public List<AgentOptions> Agents { get; init; } = [];

    /// <summary>Fewest answers the layer needs; below it the request fails with 502.</summary>
    public int MinAgents { get; set; } = 1;

    /// <summary>Once this many agents answered, the rest get <see cref="StragglerGraceMs"/> to finish. Unset: wait for all.</summary>
    public int? Quorum { get; set; }

    /// <summary>How long stragglers may run once the quorum answered; then they are cancelled and left out.</summary>
    public double? StragglerGraceMs { get; set; }
}

/// <summary>What an agent may set for itself; unset values come from its model's <see cref="VirtualModelOptions.AgentDefaults"/>.</summary>
public class AgentSettings
{
    public float? Temperature { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>Overrides the provider's <see cref="ProviderOptions.FirstTokenTimeoutSeconds"/> for this agent.</summary>
    public double? FirstTokenTimeoutSeconds { get; set; }

    /// <summary>Overrides the provider's <see cref="ProviderOptions.TimeoutSeconds"/> for this agent.</summary>
    public double? TimeoutSeconds { get; set; }
}

/// <summary>
/// One upstream model: the string <c>"provider/model"</c>, or an object with settings whose <c>Model</c> is either the
/// provider's model id beside a <c>Provider</c>, or, without one, <c>"provider/model"</c> itself.
/// </summary>
[TypeConverter(typeof(AgentOptionsConverter))]
public sealed class AgentOptions : AgentSettings
{
    public string? Provider { get; set; }

    public string? Model { get; set; }

    /// <summary>A proposer called this many times at once, each call with its own seed (Self-MoA); unset, it is called once.</summary>
    public int? Samples { get; set; }

    /// <summary>An agent written as the string <c>"provider/model"</c>; null when the string is not one.</summary>
    public static AgentOptions? Parse(string? value) =>
        ProviderModel.TryParse(value, out var name) ? new AgentOptions { Provider = name.Provider, Model = name.Model } : null;

    /// <summary>The provider and model this agent calls, when it names both.</summary>
    public bool TryGetName(out ProviderModel name)
    {
        if (!string.IsNullOrWhiteSpace(Provider))
        {
            name = new ProviderModel(Provider, Model ?? string.Empty);
            return !string.IsNullOrWhiteSpace(Model);
        }

        return ProviderModel.TryParse(Model, out name);
    }
}
