using System.Text.Json;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api.Responses;

/// <summary>
/// The Responses API shape: one <c>response</c> object, or its stream of events from <c>response.created</c> to
/// <c>response.completed</c> (<c>response.incomplete</c> when the aggregator stopped on its token limit), or
/// <c>response.failed</c> when the answer was cut off.
/// </summary>
internal sealed class ResponseAnswerFormat(ResponsesRequest request, string model) : IAnswerFormat
{
    private readonly string _id = $"resp_{Guid.NewGuid():N}";
    private readonly long _createdAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly ResponseOutput _output = new();
    private ResponseEvents? _events;

    public void Append(ChatDelta delta) => _output.Append(delta, events: null);

    public IResult Complete(MoaRun run, MixtureCost cost)
    {
        _output.Complete(events: null);
        return new JsonWriterResult(json => WriteResponse(json, _output.Status, (run, cost), failure: null, run.Panel));
    }

    public void WriteDelta(SseWriter sse, ChatDelta delta) => _output.Append(delta, Events(sse));

    /// <summary>An event of its own type (<c>moa.proposal.delta</c>, ...), numbered in the stream's sequence, which the SDKs skip.</summary>
    public void WritePanel(SseWriter sse, PanelEvent panelEvent)
    {
        var events = Events(sse);
        PanelJson.WriteFields(events.Begin(PanelJson.ResponsesType(panelEvent)), panelEvent);
        events.End();
    }

    public void WriteEnd(SseWriter sse, MoaRun run, MixtureCost cost)
    {
        var events = Events(sse);
        _output.Complete(events);
        WriteResponseEvent(events, _output.IncompleteReason is null ? "response.completed"u8 : "response.incomplete"u8, _output.Status, (run, cost), null);
    }

    public void WriteFailure(SseWriter sse, OpenAiError failure, MoaRun run, MixtureCost cost)
    {
        var events = Events(sse);
        _output.Abandon();
        WriteResponseEvent(events, "response.failed"u8, "failed", (run, cost), failure);
    }

    /// <summary>The stream's events; the first call opens the stream with <c>response.created</c> and <c>response.in_progress</c>.</summary>
    private ResponseEvents Events(SseWriter sse)
    {
        if (_events is null)
        {
            _events = new ResponseEvents(sse);
            WriteResponseEvent(_events, "response.created"u8, "in_progress", usage: null, failure: null);
            WriteResponseEvent(_events, "response.in_progress"u8, "in_progress", usage: null, failure: null);
        }

        return _events;
    }

    private void WriteResponseEvent(ResponseEvents events, ReadOnlySpan<byte> type, string status, (MoaRun Run, MixtureCost Cost)? usage, OpenAiError? failure)
    {
        var json = events.Begin(type);
        json.WritePropertyName("response"u8);
        WriteResponse(json, status, usage, failure);
        events.End();
    }

    /// <param name="json">Where to write.</param>
    /// <param name="status">The response's status.</param>
    /// <param name="usage">The mixture once it has run, and its cost, for the usage; null while it runs.</param>
    /// <param name="failure">Why the response failed; null unless it did.</param>
    /// <param name="panel">The proposers' answers, for a non-streamed response that asked for them.</param>
    private void WriteResponse(Utf8JsonWriter json, string status, (MoaRun Run, MixtureCost Cost)? usage, OpenAiError? failure, Panel? panel = null)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, _id);
        json.WriteString("object"u8, "response"u8);
        json.WriteNumber("created_at"u8, _createdAt);
        json.WriteString("status"u8, status);
        json.WriteBoolean("background"u8, false);
        if (failure is null)
        {
            json.WriteNull("error"u8);
        }
        else
        {
            json.WriteStartObject("error"u8);
            json.WriteString("code"u8, failure.Code ?? failure.Type);
            json.WriteString("message"u8, failure.Message);
            json.WriteString("type"u8, failure.Type);
            json.WriteString("param"u8, failure.Param);
            json.WriteEndObject();
        }

        if (status == "incomplete")
        {
            json.WriteStartObject("incomplete_details"u8);
            json.WriteString("reason"u8, _output.IncompleteReason);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("incomplete_details"u8);
        }

        json.WriteString("model"u8, model);
        _output.Write(json);
        request.WriteEcho(json);
        json.WriteNull("previous_response_id"u8);
        json.WriteBoolean("store"u8, false);
        json.WriteString("truncation"u8, "disabled"u8);
        if (usage is { } ran)
        {
            WriteUsage(json, ran.Run, ran.Cost);
        }
        else
        {
            json.WriteNull("usage"u8);
        }

        if (panel is not null)
        {
            PanelJson.WriteProposals(json, panel);
        }

        json.WriteEndObject();
    }

    /// <summary>Every upstream call's tokens, cached and reasoning tokens among them, as the chat endpoint counts them, with the cost and <c>usage.moa</c> beside.</summary>
    private static void WriteUsage(Utf8JsonWriter json, MoaRun run, MixtureCost cost)
    {
        var usage = run.TotalUsage;
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, usage.Prompt);
        json.WriteStartObject("input_tokens_details"u8);
        json.WriteNumber("cached_tokens"u8, usage.CachedPrompt);
        json.WriteEndObject();
        json.WriteNumber("output_tokens"u8, usage.Completion);
        json.WriteStartObject("output_tokens_details"u8);
        json.WriteNumber("reasoning_tokens"u8, usage.Reasoning);
        json.WriteEndObject();
        json.WriteNumber("total_tokens"u8, usage.Total);
        MoaUsageJson.Write(json, run, cost);
        json.WriteEndObject();
    }
}
