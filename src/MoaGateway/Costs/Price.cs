using MoaGateway.Moa;

namespace MoaGateway.Costs;

/// <summary>What a model's tokens cost, in US dollars per million tokens.</summary>
public sealed record Price(decimal InputPerMillion, decimal OutputPerMillion, decimal CachedInputPerMillion)
{
    private const decimal TokensPerMillion = 1_000_000m;

    /// <summary>
    /// The cost of <paramref name="tokens"/>: uncached prompt tokens at the input rate, cached ones at the cached rate, and
    /// completion tokens (reasoning tokens are among them, as providers count them) at the output rate; rounded by <see cref="Usd.Round"/>.
    /// </summary>
    public decimal Of(TokenCounts tokens)
    {
        var cached = Math.Clamp(tokens.CachedPrompt, 0, tokens.Prompt);
        var micros = ((tokens.Prompt - cached) * InputPerMillion) + (cached * CachedInputPerMillion) + (tokens.Completion * OutputPerMillion);
        return Usd.Round(micros / TokensPerMillion);
    }
}
