using System.Text.Json;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>
/// Writes what a MoA request's usage adds to OpenAI's: <c>cost</c> and <c>cost_complete</c>, and <c>usage.moa</c>,
/// every upstream call the request made, per layer, with its tokens and cost, so the totals beside it can be traced to
/// the proposers and the aggregator that spent them, and the topology that ran (a request's override included) can be
/// read from it: each proposer call with its agent's index in the layer and, for a sample, the sample's index and seed.
/// </summary>
internal static class MoaUsageJson
{
    public static void Write(Utf8JsonWriter json, MoaRun run, MixtureCost cost)
    {
        json.WriteNumber("cost", cost.Total);
        json.WriteBoolean("cost_complete", cost.Complete);
        var calls = run.Calls;
        json.WriteStartObject("moa");
        json.WriteString("model", run.Model.Id);
        json.WriteNumber("upstream_calls", calls.Count);
        json.WriteStartArray("layers");
        foreach (var layer in calls.Where(call => !call.IsAggregator).GroupBy(call => call.Layer).OrderBy(group => group.Key))
        {
            json.WriteStartObject();
            json.WriteNumber("layer", layer.Key);
            ChatCompletionJson.WriteTokenCounts(json, layer.Aggregate(default(TokenCounts), (sum, call) => sum + (call.Usage ?? default)));
            json.WriteStartArray("agents");
            foreach (var call in layer)
            {
                WriteCall(json, call, cost);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        var aggregators = calls.Where(call => call.IsAggregator).ToList();
        if (aggregators.Count > 0)
        {
            json.WritePropertyName("aggregator");
            WriteCall(json, aggregators[^1], cost);
        }

        if (aggregators.Count > 1)
        {
            json.WriteStartArray("failed_aggregators");
            foreach (var failed in aggregators.Take(aggregators.Count - 1))
            {
                WriteCall(json, failed, cost);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteCall(Utf8JsonWriter json, AgentCallReport call, MixtureCost cost)
    {
        json.WriteStartObject();
        if (!call.IsAggregator)
        {
            json.WriteNumber("agent", call.Position.Agent);
        }

        if (call.Position.Sample is { } sample)
        {
            json.WriteNumber("sample", sample);
        }

        json.WriteString("provider", call.Agent.Provider);
        json.WriteString("model", call.Agent.Model);
        if (call.Agent.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        json.WriteString("status", Status(call.Outcome));
        json.WriteNumber("attempts", call.Attempts);
        if (call.Usage is { } usage)
        {
            ChatCompletionJson.WriteTokenCounts(json, usage);
        }

        if (cost.Of(call) is { } callCost)
        {
            json.WriteNumber("cost", callCost.Usd);
            if (!callCost.Complete)
            {
                json.WriteBoolean("cost_complete", false);
            }
        }

        json.WriteNumber("duration_ms", Math.Round(call.Duration.TotalMilliseconds, 1));
        if (call.TimeToFirstToken is { } firstToken)
        {
            json.WriteNumber("time_to_first_token_ms", Math.Round(firstToken.TotalMilliseconds, 1));
        }

        if (call.Error is not null)
        {
            json.WriteString("error", call.Error);
        }

        json.WriteEndObject();
    }

    /// <summary>How a call ended, in the API's words.</summary>
    public static string Status(CallOutcome outcome) => outcome switch
    {
        CallOutcome.Answered => "answered",
        CallOutcome.TimedOut => "timed_out",
        CallOutcome.Cut => "cut",
        CallOutcome.Cancelled => "cancelled",
        CallOutcome.Empty => "empty",
        _ => "failed",
    };
}
