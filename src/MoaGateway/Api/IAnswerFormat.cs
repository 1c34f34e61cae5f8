using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>
/// How one OpenAI API (chat completions, responses) shapes the aggregator's answer: as one object once it is whole, or
/// as server-sent events while it arrives. <see cref="MoaResponses"/> runs the mixture and calls one or the other,
/// with the mixture's cost once it is settled.
/// </summary>
internal interface IAnswerFormat
{
    /// <summary>Non-streamed: takes in one delta of the answer.</summary>
    void Append(ChatDelta delta);

    /// <summary>Non-streamed: the whole answer, once every delta was appended.</summary>
    IResult Complete(MoaRun run, MixtureCost cost);

    /// <summary>Streamed: writes the events one delta becomes; the caller flushes them.</summary>
    void WriteDelta(SseWriter sse, ChatDelta delta);

    /// <summary>Streamed, when the client asked for the panel: writes the event of one panel event, before any delta; the caller flushes it.</summary>
    void WritePanel(SseWriter sse, PanelEvent panelEvent);

    /// <summary>Streamed: writes the events that mark a complete answer.</summary>
    void WriteEnd(SseWriter sse, MoaRun run, MixtureCost cost);

    /// <summary>Streamed: writes the event that says the answer was cut off, before the connection is aborted.</summary>
    void WriteFailure(SseWriter sse, OpenAiError failure, MoaRun run, MixtureCost cost);
}
