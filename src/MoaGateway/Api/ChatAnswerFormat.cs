using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>The chat completions shape: one <c>chat.completion</c>, or <c>chat.completion.chunk</c> events ending in <c>[DONE]</c>.</summary>
internal sealed class ChatAnswerFormat(CompletionHeader header, bool includeUsage) : IAnswerFormat
{
    private readonly ChatAnswer _answer = new();
    private bool _withRole = true;

    public void Append(ChatDelta delta) => _answer.Append(delta);

    public IResult Complete(MoaRun run, MixtureCost cost) => new JsonWriterResult(json => ChatCompletionJson.WriteCompletion(
        json,
        header,
        _answer,
        run.TotalUsage,
        usage => MoaUsageJson.Write(usage, run, cost),
        run.Panel is { } panel ? top => PanelJson.WriteProposals(top, panel) : null));

    public void WriteDelta(SseWriter sse, ChatDelta delta)
    {
        if (delta.HasChoice)
        {
            ChatCompletionJson.WriteChunk(sse.BeginEvent(), header, delta, _withRole);
            sse.EndEvent();
            _withRole = false;
        }
    }

    /// <summary>A chunk with an empty <c>choices</c> and a <c>moa</c> object that holds the event: its name in <c>event</c>, and its fields.</summary>
    public void WritePanel(SseWriter sse, PanelEvent panelEvent)
    {
        var json = sse.BeginEvent();
        ChatCompletionJson.BeginChunkWithoutChoices(json, header);
        json.WriteStartObject("moa"u8);
        json.WriteString("event"u8, PanelJson.ResponsesType(panelEvent)["moa.".Length..]);
        PanelJson.WriteFields(json, panelEvent);
        json.WriteEndObject();
        json.WriteEndObject();
        sse.EndEvent();
    }

    public void WriteEnd(SseWriter sse, MoaRun run, MixtureCost cost)
    {
        if (includeUsage)
        {
            ChatCompletionJson.WriteUsageChunk(sse.BeginEvent(), header, run.TotalUsage, usage => MoaUsageJson.Write(usage, run, cost));
            sse.EndEvent();
        }

        sse.WriteDone();
    }

    public void WriteFailure(SseWriter sse, OpenAiError failure, MoaRun run, MixtureCost cost)
    {
        failure.WriteTo(sse.BeginEvent());
        sse.EndEvent();
    }
}
