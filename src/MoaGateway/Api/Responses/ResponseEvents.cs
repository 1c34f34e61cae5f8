using System.Text.Json;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api.Responses;

/// <summary>Frames the events of one streamed response: an <c>event:</c> line, and a <c>type</c> and rising <c>sequence_number</c> in each.</summary>
internal sealed class ResponseEvents(SseWriter sse)
{
    private int _sequence;
    private Utf8JsonWriter? _json;

    /// <summary>Starts an event of <paramref name="type"/>; write its other fields, then call <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin(ReadOnlySpan<byte> type)
    {
        var json = _json = sse.BeginEvent(type);
        json.WriteStartObject();
        json.WriteString("type"u8, type);
        json.WriteNumber("sequence_number"u8, _sequence++);
        return json;
    }

    public void End()
    {
        _json!.WriteEndObject();
        sse.EndEvent();
    }
}
