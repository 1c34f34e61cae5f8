using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MoaGateway.Moa;

/// <summary>
/// The spans and metrics of a mixture, named after the OpenTelemetry GenAI semantic conventions where they apply
/// (<c>gen_ai.*</c>) and under <c>moa.*</c> for what is particular to a mixture: a span per request, per layer and per
/// agent call; request, agent-call and token metrics.
/// </summary>
public static class MoaTelemetry
{
    /// <summary>The name of the gateway's own activity source and meter, shared by every feature that records telemetry.</summary>
    public const string Name = "MoaGateway";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        "moa.request.duration", "s", "Duration of MoA requests, by virtual model.");

    private static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>(
        "moa.request.time_to_first_token", "s", "Time from a MoA request's arrival to its aggregator's first token.");

    private static readonly Histogram<double> UpstreamDuration = Meter.CreateHistogram<double>(
        "gen_ai.client.operation.duration", "s", "Duration of upstream model calls, retries included.");

    private static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(
        "gen_ai.client.token.usage", "{token}", "Tokens of upstream model calls, by provider, model, role and token type.");

    private static readonly UpDownCounter<long> ActiveStreams = Meter.CreateUpDownCounter<long>(
        "moa.streams.active", "{stream}", "MoA responses being streamed to clients.");

    private static readonly Counter<long> StragglersCut = Meter.CreateCounter<long>(
        "moa.stragglers.cut", "{call}", "Proposer calls cancelled as stragglers after their layer's quorum answered.");

    public static Activity? StartRequest(VirtualModel model)
    {
        var activity = Source.StartActivity($"moa {model.Id}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", model.Id);
        activity?.SetTag("moa.layers", model.Layers.Count);
        return activity;
    }

    public static Activity? StartLayer(int layer, LayerSpec spec)
    {
        var activity = Source.StartActivity($"moa layer {layer}", ActivityKind.Internal);
        activity?.SetTag("moa.layer", layer);
        activity?.SetTag("moa.layer.agents", spec.Agents.Count);
        return activity;
    }

    /// <summary>A span per upstream call (each sample its own), as GenAI's client span ("chat {model}"), so HttpClient's spans nest under it.</summary>
    public static Activity? StartAgentCall(AgentSpec agent, CallPosition position)
    {
        var activity = Source.StartActivity($"chat {agent.Model}", ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("gen_ai.operation.name", "chat");
            activity.SetTag("gen_ai.provider.name", agent.Provider);
            activity.SetTag("gen_ai.request.model", agent.Model);
            activity.SetTag("moa.role", RoleOf(position.Layer));
            activity.SetTag("moa.layer", position.Layer);
            activity.SetTag("moa.agent", position.Agent);
            if (position.Sample is { } sample)
            {
                activity.SetTag("moa.sample", sample);
            }

            if (agent.Seed is { } seed)
            {
                activity.SetTag("gen_ai.request.seed", seed);
            }

            if (agent.Temperature is { } temperature)
            {
                activity.SetTag("gen_ai.request.temperature", temperature);
            }

            if (agent.MaxTokens is { } maxTokens)
            {
                activity.SetTag("gen_ai.request.max_tokens", maxTokens);
            }
        }

        return activity;
    }

    public static void RecordAgentCall(string virtualModel, AgentCallReport report)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", report.Agent.Provider },
            { "gen_ai.request.model", report.Agent.Model },
            { "moa.role", RoleOf(report.Layer) },
            { "moa.model", virtualModel },
        };
        if (report.ErrorType is { } errorType)
        {
            tags.Add("error.type", errorType);
        }

        UpstreamDuration.Record(report.Duration.TotalSeconds, tags);
        if (report.Usage is { } usage)
        {
            TokenUsage.Record(usage.Prompt, [.. tags, new("gen_ai.token.type", "input")]);
            TokenUsage.Record(usage.Completion, [.. tags, new("gen_ai.token.type", "output")]);
        }

        if (report.Outcome == CallOutcome.Cut)
        {
            StragglersCut.Add(1, tags);
        }
    }

    /// <summary>Puts the outcome of a call on its span; the span's owner ends it.</summary>
    public static void CompleteAgentCall(Activity? activity, AgentCallReport report, string? finishReason)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("moa.outcome", report.Outcome.ToString().ToLowerInvariant());
        activity.SetTag("moa.attempts", report.Attempts);
        if (report.Usage is { } counts)
        {
            activity.SetTag("gen_ai.usage.input_tokens", counts.Prompt);
            activity.SetTag("gen_ai.usage.output_tokens", counts.Completion);
        }

        if (finishReason is not null)
        {
            activity.SetTag("gen_ai.response.finish_reasons", new[] { finishReason });
        }

        if (report.Outcome is CallOutcome.Failed or CallOutcome.TimedOut or CallOutcome.Empty)
        {
            activity.SetTag("error.type", report.ErrorType);
            activity.SetStatus(ActivityStatusCode.Error, report.Error);
        }
    }

    public static void CompleteRequest(Activity? activity, MoaRun run, bool completed)
    {
        if (activity is null)
        {
            return;
        }

        var usage = run.TotalUsage;
        activity.SetTag("moa.upstream_calls", run.Calls.Count);
        activity.SetTag("gen_ai.usage.input_tokens", usage.Prompt);
        activity.SetTag("gen_ai.usage.output_tokens", usage.Completion);
        if (!completed)
        {
            activity.SetStatus(ActivityStatusCode.Error, run.Failure ?? "cancelled");
        }
    }

    public static void RecordRequest(MoaRun run, bool stream, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "moa.model", run.Model.Id }, { "moa.stream", stream }, { "moa.outcome", outcome } };
        RequestDuration.Record(duration.TotalSeconds, tags);
        if (run.TimeToFirstToken is { } firstToken)
        {
            TimeToFirstToken.Record(firstToken.TotalSeconds, new("moa.model", run.Model.Id), new("moa.stream", stream));
        }
    }

    public static void StreamStarted(string model) => ActiveStreams.Add(1, new KeyValuePair<string, object?>("moa.model", model));

    public static void StreamEnded(string model) => ActiveStreams.Add(-1, new KeyValuePair<string, object?>("moa.model", model));

    private static string RoleOf(int layer) => layer == CallPosition.AggregatorLayer ? "aggregator" : "proposer";
}
