using System.Text.Json;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>
/// Writes the panel, what every proposer said, in the same fields for every API: non-streamed, a top-level <c>moa</c>
/// object with <c>proposals</c>; streamed, the fields of one event, which the API wraps (a chunk without choices, or a
/// Responses API event of its own type).
/// </summary>
internal static class PanelJson
{
    /// <summary><c>"moa": {"proposals": [...]}</c>: every proposer call, in the order of the mixture (layer, agent, sample).</summary>
    public static void WriteProposals(Utf8JsonWriter json, Panel panel)
    {
        json.WriteStartObject("moa"u8);
        json.WriteStartArray("proposals"u8);
        foreach (var proposal in panel.Proposals)
        {
            json.WriteStartObject();
            WriteEnd(json, proposal.Report, proposal.Content, withContent: true);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The event's type in the Responses API; in a chat completion chunk, <c>moa.event</c> is the same without <c>moa.</c>.</summary>
    public static ReadOnlySpan<byte> ResponsesType(PanelEvent panelEvent) => panelEvent switch
    {
        ProposalDelta => "moa.proposal.delta"u8,
        ProposalRetry => "moa.proposal.retry"u8,
        ProposalDone => "moa.proposal.done"u8,
        _ => "moa.layer.done"u8,
    };

    /// <summary>The fields of <paramref name="panelEvent"/>, into the object being written.</summary>
    public static void WriteFields(Utf8JsonWriter json, PanelEvent panelEvent)
    {
        switch (panelEvent)
        {
            case ProposalDelta delta:
                WriteCall(json, delta.Position, delta.Agent);
                json.WriteString("delta"u8, delta.TakeText());
                break;
            case ProposalRetry retry:
                WriteCall(json, retry.Position, retry.Agent);
                json.WriteNumber("attempt"u8, retry.Attempt);
                break;
            case ProposalDone done:
                WriteEnd(json, done.Report, content: null, withContent: false);
                break;
            case LayerDone layer:
                json.WriteNumber("layer"u8, layer.Layer);
                json.WriteNumber("answered"u8, layer.Answered);
                json.WriteNumber("failed"u8, layer.Failed);
                break;
        }
    }

    /// <summary>Which call: its layer, agent and sample (null for an agent without samples), provider and model.</summary>
    private static void WriteCall(Utf8JsonWriter json, CallPosition position, AgentSpec agent)
    {
        json.WriteNumber("layer"u8, position.Layer);
        json.WriteNumber("agent"u8, position.Agent);
        if (position.Sample is { } sample)
        {
            json.WriteNumber("sample"u8, sample);
        }
        else
        {
            json.WriteNull("sample"u8);
        }

        json.WriteString("provider"u8, agent.Provider);
        json.WriteString("model"u8, agent.Model);
    }

    private static void WriteEnd(Utf8JsonWriter json, AgentCallReport report, string? content, bool withContent)
    {
        WriteCall(json, report.Position, report.Agent);
        json.WriteString("status"u8, MoaUsageJson.Status(report.Outcome));
        if (withContent)
        {
            json.WriteString("content"u8, content);
        }

        if (report.Usage is { } usage)
        {
            json.WriteStartObject("usage"u8);
            ChatCompletionJson.WriteTokenCounts(json, usage);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("usage"u8);
        }

        json.WriteNumber("duration_ms"u8, Math.Round(report.Duration.TotalMilliseconds, 1));
        if (report.TimeToFirstToken is { } firstToken)
        {
            json.WriteNumber("time_to_first_token_ms"u8, Math.Round(firstToken.TotalMilliseconds, 1));
        }
        else
        {
            json.WriteNull("time_to_first_token_ms"u8);
        }

        json.WriteString("error"u8, report.Error);
    }
}
