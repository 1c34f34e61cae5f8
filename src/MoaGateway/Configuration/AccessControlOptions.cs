namespace MoaGateway.Configuration;

/// <summary>Client API keys (<c>MoaGateway:Auth</c>). With none configured, <c>/v1</c> is open to every caller.</summary>
public sealed class AuthOptions
{
    /// <summary>By key id: the name that logs and metrics use, never the key.</summary>
    public Dictionary<string, ClientKeyOptions> Keys { get; init; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One client key, given as exactly one of <see cref="Sha256"/> and <see cref="KeyEnv"/>, so the key itself never sits in a file.</summary>
public sealed class ClientKeyOptions
{
    /// <summary>The hex SHA-256 of the key (<c>printf %s "$KEY" | sha256sum</c>).</summary>
    public string? Sha256 { get; set; }

    /// <summary>Name of the environment variable that holds the key.</summary>
    public string? KeyEnv { get; set; }

    /// <summary>Virtual model ids, <c>&lt;provider&gt;/&lt;model&gt;</c>, <c>&lt;provider&gt;/*</c> or <c>*</c>; empty allows every model.</summary>
    public List<string> AllowedModels { get; init; } = [];

    /// <summary>Requests of this key per minute, every <c>/v1</c> call counted; unset means no limit.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Requests of this key in flight at once; unset means no limit beyond the gateway's own.</summary>
    public int? MaxConcurrentRequests { get; set; }

    public BudgetOptions Budget { get; init; } = new();
}

/// <summary>What a client key may spend, in US dollars per UTC day and per UTC month; unset means no cap.</summary>
public sealed class BudgetOptions
{
    public decimal? UsdPerDay { get; set; }

    public decimal? UsdPerMonth { get; set; }
}

/// <summary>Browser access (<c>MoaGateway:Cors</c>): closed unless origins are listed.</summary>
public sealed class GatewayCorsOptions
{
    /// <summary>Origins such as <c>https://app.example.com</c>, or <c>*</c> for any.</summary>
    public List<string> AllowedOrigins { get; init; } = [];
}
