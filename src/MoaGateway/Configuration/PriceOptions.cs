namespace MoaGateway.Configuration;

/// <summary>
/// The price of one upstream model (<c>MoaGateway:Pricing:&lt;n&gt;</c>), or of every model of a provider, in US dollars
/// per million tokens. The most specific entry wins: <c>&lt;provider&gt;/&lt;model&gt;</c> over <c>&lt;provider&gt;/*</c>.
/// </summary>
public sealed class PriceOptions
{
    /// <summary><c>&lt;provider&gt;/&lt;model&gt;</c> or <c>&lt;provider&gt;/*</c>, the names of <c>AllowedModels</c>.</summary>
    public string? Model { get; set; }

    public decimal? InputPerMillion { get; set; }

    public decimal? OutputPerMillion { get; set; }

    /// <summary>Prompt tokens the provider served from its prompt cache; unset, they cost <see cref="InputPerMillion"/>.</summary>
    public decimal? CachedInputPerMillion { get; set; }
}
