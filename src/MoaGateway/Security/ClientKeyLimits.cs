using System.Globalization;
using MoaGateway.Api;
using MoaGateway.Costs;
using MoaGateway.Serving;
using MoaGateway.SharedState;

namespace MoaGateway.Security;

/// <summary>
/// Each key's <see cref="ClientKey.RequestsPerMinute"/> and <see cref="ClientKey.MaxConcurrentRequests"/> on every
/// <c>/v1</c> call, and its <see cref="ClientKey.Budget"/> on the endpoints that spend money (<see cref="Budgeted"/>):
/// checked before the endpoint runs, so a refused request reaches no upstream, and counted where the configuration's
/// <c>SharedState</c> says, in this replica's memory or in Redis. The request's slot is given back when it ends,
/// however it ends: answered, failed, cancelled by its client, or cut by a shutdown.
/// </summary>
internal sealed class ClientKeyLimits(RequestDelegate next, TimeProvider time)
{
    private static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    public async Task InvokeAsync(HttpContext context)
    {
        var key = context.Features.Get<ClientKey>();
        var budget = context.GetEndpoint()?.Metadata.GetMetadata<Budgeted>() is null ? null : key?.Budget;
        if (key is null || (key.RequestsPerMinute is null && key.MaxConcurrentRequests is null && budget is null))
        {
            await next(context);
            return;
        }

        var now = time.GetUtcNow();
        var counters = ConfigurationSnapshot.Of(context).Counters;
        await using var admission = await counters.AdmitAsync(new KeyLimits(key.Id, key.RequestsPerMinute, key.MaxConcurrentRequests, budget), now);
        if (Refusal(admission, key, budget, now, context.Response) is { } refusal)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static OpenAiError? Refusal(Admission admission, ClientKey key, Budget? budget, DateTimeOffset now, HttpResponse response)
    {
        switch (admission.Refusal)
        {
            case SharedState.Refusal.Budget:
                var spent = admission.Spent!.Value;
                var period = budget!.Exhausted(spent)!.Value;
                return OpenAiError.BudgetSpent(period, budget.Cap(period)!.Value, period == BudgetPeriod.Day ? spent.Day : spent.Month, Budget.ResetsAt(period, now));
            case SharedState.Refusal.RequestsPerMinute:
                RetryAfter(response, admission.RetryAfter);
                return OpenAiError.KeyRateLimited(key.RequestsPerMinute!.Value);
            case SharedState.Refusal.ConcurrentRequests:
                RetryAfter(response, ConcurrencyRetryAfter);
                return OpenAiError.KeyConcurrencyLimited(key.MaxConcurrentRequests!.Value);
            case SharedState.Refusal.Unavailable:
                RetryAfter(response, ConcurrencyRetryAfter);
                return OpenAiError.SharedStateUnavailable();
            default:
                return null;
        }
    }

    private static void RetryAfter(HttpResponse response, TimeSpan wait) =>
        response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
