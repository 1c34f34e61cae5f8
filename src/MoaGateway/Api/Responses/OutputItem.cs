using System.Text.Json;

namespace MoaGateway.Api.Responses;

/// <summary>One item of a response's <c>output</c>, built while the aggregator's answer arrives.</summary>
internal abstract class OutputItem(string id, int outputIndex)
{
    public string Id => id;

    public int OutputIndex => outputIndex;

    /// <summary><c>in_progress</c> until closed, then <c>completed</c> or <c>incomplete</c>.</summary>
    public string Status { get; private set; } = "in_progress";

    public bool IsOpen => Status == "in_progress";

    /// <summary>The item as it stands, for <c>output</c> and for the item events.</summary>
    public abstract void Write(Utf8JsonWriter json);

    /// <summary>Ends the item with <paramref name="status"/>, writing the events that finish it when streaming.</summary>
    public void Close(string status, ResponseEvents? events)
    {
        if (!IsOpen)
        {
            return;
        }

        if (events is not null)
        {
            WriteDoneEvents(events);
        }

        Status = status;
        if (events is not null)
        {
            var json = events.Begin("response.output_item.done"u8);
            json.WriteNumber("output_index"u8, outputIndex);
            json.WritePropertyName("item"u8);
            Write(json);
            events.End();
        }
    }

    /// <summary>Marks an open item as cut off, without events: the stream is ending with <c>response.failed</c>.</summary>
    public void Abandon()
    {
        if (IsOpen)
        {
            Status = "incomplete";
        }
    }

    /// <summary>The events that give the item's final content before its <c>response.output_item.done</c>.</summary>
    protected abstract void WriteDoneEvents(ResponseEvents events);

    /// <summary>Writes <c>response.output_item.added</c>; called once the item is in the output.</summary>
    public void WriteAdded(ResponseEvents events)
    {
        var json = events.Begin("response.output_item.added"u8);
        json.WriteNumber("output_index"u8, outputIndex);
        json.WritePropertyName("item"u8);
        Write(json);
        events.End();
    }

    /// <summary>The fields every event about part of this item starts with.</summary>
    protected Utf8JsonWriter BeginItemEvent(ResponseEvents events, ReadOnlySpan<byte> type)
    {
        var json = events.Begin(type);
        json.WriteString("item_id"u8, id);
        json.WriteNumber("output_index"u8, outputIndex);
        return json;
    }
}
