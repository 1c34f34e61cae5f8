using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using MoaGateway.Moa;

namespace MoaGateway.Costs;

/// <summary>
/// The cost of one request, settled once, when its mixture has ended and before the last byte of the answer leaves:
/// counted in the cost metric, put on the request span and in its log line, and charged to the client key's spend, so
/// that the key's next request, on any replica, already sees it. Read it with <see cref="Of"/>.
/// </summary>
public sealed class RequestCost
{
    private readonly Prices _prices;
    private readonly ISpendLedger _ledger;
    private readonly string? _clientKey;
    private readonly Activity? _span;
    private readonly TimeProvider _time;

    private RequestCost(Prices prices, ISpendLedger ledger, string? clientKey, Activity? span, TimeProvider time)
    {
        _prices = prices;
        _ledger = ledger;
        _clientKey = clientKey;
        _span = span;
        _time = time;
    }

    /// <summary>Null until the request's cost is settled.</summary>
    public MixtureCost? Settled { get; private set; }

    /// <summary>Starts the account of <paramref name="context"/>'s cost; <paramref name="clientKey"/> is charged, when there is one.</summary>
    public static RequestCost Start(HttpContext context, Prices prices, ISpendLedger ledger, string? clientKey, TimeProvider time)
    {
        var cost = new RequestCost(prices, ledger, clientKey, context.Features.Get<IHttpActivityFeature>()?.Activity, time);
        context.Features.Set(cost);
        return cost;
    }

    /// <summary>The cost of the request, when it ran a mixture.</summary>
    public static RequestCost? Of(HttpContext context) => context.Features.Get<RequestCost>();

    /// <summary>Prices every call <paramref name="run"/> made and charges the total; later calls return the same cost and charge nothing.</summary>
    public async ValueTask<MixtureCost> SettleAsync(MoaRun run)
    {
        if (Settled is { } settled)
        {
            return settled;
        }

        var cost = Settled = MixtureCost.Of(run.Calls, _prices);
        CostTelemetry.Record(run.Model.Id, _clientKey, cost, _span);
        if (_clientKey is not null && cost.Total > 0)
        {
            await _ledger.ChargeAsync(_clientKey, cost.Total, _time.GetUtcNow());
        }

        return cost;
    }
}
