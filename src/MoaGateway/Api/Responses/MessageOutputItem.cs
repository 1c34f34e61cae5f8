using System.Text;
using System.Text.Json;

namespace MoaGateway.Api.Responses;

/// <summary>
/// The assistant's <c>message</c> item: an <c>output_text</c> part for its text and, if the aggregator refused, a
/// <c>refusal</c> part, each opened when its first delta arrives.
/// </summary>
internal sealed class MessageOutputItem(int outputIndex) : OutputItem($"msg_{Guid.NewGuid():N}", outputIndex)
{
    private static readonly PartKind Text = new("output_text", "text", "response.output_text.delta", "response.output_text.done", isText: true);
    private static readonly PartKind Refusal = new("refusal", "refusal", "response.refusal.delta", "response.refusal.done", isText: false);

    private readonly List<Part> _parts = new(1);
    private Part? _text;
    private Part? _refusal;

    /// <summary>The text of its <c>output_text</c> part.</summary>
    public string? OutputText => _text?.Value.ToString();

    public void AppendText(string text, ResponseEvents? events) => Append(_text ??= Open(Text, events), text, events);

    public void AppendRefusal(string refusal, ResponseEvents? events) => Append(_refusal ??= Open(Refusal, events), refusal, events);

    public override void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, Id);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("status"u8, Status);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteStartArray("content"u8);
        foreach (var part in _parts)
        {
            WritePart(json, part);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    protected override void WriteDoneEvents(ResponseEvents events)
    {
        foreach (var part in _parts)
        {
            var json = BeginPartEvent(events, part.Kind.DoneEvent, part);
            json.WriteString(part.Kind.Field, part.Value.ToString());
            WriteLogprobs(json, part.Kind);
            events.End();

            json = BeginPartEvent(events, "response.content_part.done"u8, part);
            json.WritePropertyName("part"u8);
            WritePart(json, part);
            events.End();
        }
    }

    private Part Open(PartKind kind, ResponseEvents? events)
    {
        var part = new Part(kind, _parts.Count);
        _parts.Add(part);
        if (events is not null)
        {
            var json = BeginPartEvent(events, "response.content_part.added"u8, part);
            json.WritePropertyName("part"u8);
            WritePart(json, part);
            events.End();
        }

        return part;
    }

    private void Append(Part part, string delta, ResponseEvents? events)
    {
        part.Value.Append(delta);
        if (events is not null && delta.Length > 0)
        {
            var json = BeginPartEvent(events, part.Kind.DeltaEvent, part);
            json.WriteString("delta"u8, delta);
            WriteLogprobs(json, part.Kind);
            events.End();
        }
    }

    private Utf8JsonWriter BeginPartEvent(ResponseEvents events, ReadOnlySpan<byte> type, Part part)
    {
        var json = BeginItemEvent(events, type);
        json.WriteNumber("content_index"u8, part.Index);
        return json;
    }

    private static void WritePart(Utf8JsonWriter json, Part part)
    {
        json.WriteStartObject();
        json.WriteString("type"u8, part.Kind.Type);
        json.WriteString(part.Kind.Field, part.Value.ToString());
        if (part.Kind.IsText)
        {
            json.WriteStartArray("annotations"u8);
            json.WriteEndArray();
        }

        WriteLogprobs(json, part.Kind);
        json.WriteEndObject();
    }

    private static void WriteLogprobs(Utf8JsonWriter json, PartKind kind)
    {
        if (kind.IsText)
        {
            json.WriteStartArray("logprobs"u8);
            json.WriteEndArray();
        }
    }

    /// <summary>A kind of content part: its type, the field that holds its text, and the names of its streamed events.</summary>
    private sealed class PartKind(string type, string textField, string deltaEvent, string doneEvent, bool isText)
    {
        public string Type => type;

        public string Field => textField;

        public byte[] DeltaEvent { get; } = Encoding.UTF8.GetBytes(deltaEvent);

        public byte[] DoneEvent { get; } = Encoding.UTF8.GetBytes(doneEvent);

        /// <summary><c>output_text</c> carries <c>annotations</c> and <c>logprobs</c>, always empty: the aggregator is asked for neither.</summary>
        public bool IsText => isText;
    }

    private sealed class Part(PartKind kind, int index)
    {
        public PartKind Kind => kind;

        public int Index => index;

        public StringBuilder Value { get; } = new();
    }
}
