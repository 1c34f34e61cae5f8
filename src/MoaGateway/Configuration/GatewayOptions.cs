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

    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    public ReadinessOptions Readiness { get; init; } = new();
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

    /// <summary>Upper bound on one upstream call, from sending the request to its last byte.</summary>
    public double TimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// The request field that carries an agent's configured <c>MaxTokens</c>. <c>max_tokens</c> is what most
    /// OpenAI-compatible servers accept; OpenAI's reasoning models need <c>max_completion_tokens</c>.
    /// </summary>
    public string MaxTokensField { get; set; } = "max_tokens";

    public SimulationOptions Simulation { get; init; } = new();
}

public static class ProviderTypes
{
    public const string OpenAi = "openai";
    public const string Simulated = "simulated";
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

    public List<LayerOptions> Layers { get; init; } = [];

    public AgentOptions? Aggregator { get; set; }

    /// <summary>Overrides the Aggregate-and-Synthesize prompt (Table 1 of the Mixture-of-Agents paper).</summary>
    public string? AggregatePrompt { get; set; }
}

public sealed class LayerOptions
{
    public List<AgentOptions> Agents { get; init; } = [];
}

public sealed class AgentOptions
{
    public string? Provider { get; set; }

    public string? Model { get; set; }

    public float? Temperature { get; set; }

    public int? MaxTokens { get; set; }
}
