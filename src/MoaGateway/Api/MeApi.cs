using System.Text.Json;
using MoaGateway.Costs;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// <c>GET /v1/me</c>: what the request's client key may do and what it has left to spend: its models, its limits, and
/// per budget period what it spent, its cap, what remains and when the period resets. The key's id is not shown.
/// </summary>
public static class MeApi
{
    public static RouteGroupBuilder MapMe(this RouteGroupBuilder v1)
    {
        v1.MapGet("/me", GetAsync).WithName("GetClientKey");
        return v1;
    }

    private static async Task<IResult> GetAsync(HttpContext context, TimeProvider time, CancellationToken cancellationToken)
    {
        if (context.Features.Get<ClientKey>() is not { } key)
        {
            return OpenAiError.NoClientKeys();
        }

        var now = time.GetUtcNow();
        var spent = await ConfigurationSnapshot.Of(context).Counters.SpentAsync(key.Id, now, cancellationToken);
        if (spent is not { } spend)
        {
            return OpenAiError.SharedStateUnavailable();
        }

        return new JsonWriterResult(json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "moagateway.client_key");
            json.WriteStartArray("allowed_models");
            foreach (var model in key.AllowedModels)
            {
                json.WriteStringValue(model);
            }

            json.WriteEndArray();
            WriteLimit(json, "requests_per_minute", key.RequestsPerMinute);
            WriteLimit(json, "max_concurrent_requests", key.MaxConcurrentRequests);
            json.WriteStartObject("spend");
            WritePeriod(json, BudgetPeriod.Day, spend.Day, key.Budget?.UsdPerDay, now);
            WritePeriod(json, BudgetPeriod.Month, spend.Month, key.Budget?.UsdPerMonth, now);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    private static void WriteLimit(Utf8JsonWriter json, string name, int? limit)
    {
        if (limit is { } value)
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WritePeriod(Utf8JsonWriter json, BudgetPeriod period, decimal spent, decimal? cap, DateTimeOffset now)
    {
        json.WriteStartObject(period == BudgetPeriod.Day ? "day" : "month");
        json.WriteNumber("spent_usd", spent);
        if (cap is { } budget)
        {
            json.WriteNumber("budget_usd", budget);
            json.WriteNumber("remaining_usd", Math.Max(0, budget - spent));
        }
        else
        {
            json.WriteNull("budget_usd");
            json.WriteNull("remaining_usd");
        }

        json.WriteString("resets_at", Budget.ResetsAt(period, now));
        json.WriteEndObject();
    }
}
