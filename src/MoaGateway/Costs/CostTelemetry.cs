using System.Diagnostics;
using System.Diagnostics.Metrics;
using MoaGateway.Moa;

namespace MoaGateway.Costs;

/// <summary>What costs record: US dollars spent upstream, by virtual model, provider, model and client key; the total on the request span.</summary>
public static class CostTelemetry
{
    private static readonly Meter Meter = new(MoaTelemetry.Name);

    private static readonly Counter<double> Cost = Meter.CreateCounter<double>(
        "moa.cost.usd", "{USD}", "US dollars spent on upstream calls of priced models, by virtual model, provider, model and client key.");

    /// <param name="virtualModel">The virtual model the calls were made for.</param>
    /// <param name="clientKey">The client key's id; null when no keys are configured.</param>
    /// <param name="cost">The mixture's cost, settled.</param>
    /// <param name="span">The request's own span (ASP.NET Core's), which outlives the mixture's.</param>
    public static void Record(string virtualModel, string? clientKey, MixtureCost cost, Activity? span)
    {
        foreach (var (call, callCost) in cost.Calls)
        {
            var tags = new TagList
            {
                { "moa.model", virtualModel },
                { "gen_ai.provider.name", call.Agent.Provider },
                { "gen_ai.request.model", call.Agent.Model },
            };
            if (clientKey is not null)
            {
                tags.Add("moa.client_key", clientKey);
            }

            Cost.Add((double)callCost.Usd, tags);
        }

        span?.SetTag("moa.cost.usd", (double)cost.Total);
        span?.SetTag("moa.cost.complete", cost.Complete);
    }
}
