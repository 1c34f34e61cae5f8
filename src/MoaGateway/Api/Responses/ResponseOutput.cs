using System.Text.Json;
using MoaGateway.Moa;

namespace MoaGateway.Api.Responses;

/// <summary>
/// A response's <c>output</c>, built from the aggregator's chat deltas as they arrive: text and refusals go to a
/// <c>message</c> item, each tool call to a <c>function_call</c> item of its own. Given events, every change is also
/// written as the stream events that announce it, at once: nothing is held back.
/// </summary>
internal sealed class ResponseOutput
{
    private readonly List<OutputItem> _items = [];
    private readonly Dictionary<int, FunctionCallOutputItem> _calls = [];

    /// <summary>The message item text goes to; closed once a tool call begins, so items follow one another as OpenAI's do.</summary>
    private MessageOutputItem? _message;

    private string? _finishReason;

    /// <summary>Why the aggregator stopped short, in the Responses API's words; null when it finished.</summary>
    public string? IncompleteReason => _finishReason switch
    {
        "length" => "max_output_tokens",
        "content_filter" => "content_filter",
        _ => null,
    };

    public string Status => IncompleteReason is null ? "completed" : "incomplete";

    public void Append(ChatDelta delta, ResponseEvents? events)
    {
        if (!string.IsNullOrEmpty(delta.Content))
        {
            OpenMessage(events).AppendText(delta.Content, events);
        }

        if (!string.IsNullOrEmpty(delta.Refusal))
        {
            OpenMessage(events).AppendRefusal(delta.Refusal, events);
        }

        foreach (var call in delta.ToolCalls ?? [])
        {
            if (!_calls.TryGetValue(call.Index, out var item))
            {
                _message?.Close("completed", events);
                _message = null;
                _calls[call.Index] = item = Add(new FunctionCallOutputItem(call.Id, call.FunctionName, _items.Count), events);
            }

            item.AppendArguments(call.ArgumentsFragment, events);
        }

        _finishReason = delta.FinishReason ?? _finishReason;
    }

    /// <summary>Closes every item still open, in output order; an answer with nothing in it is one empty message, as OpenAI's is.</summary>
    public void Complete(ResponseEvents? events)
    {
        if (_items.Count == 0)
        {
            OpenMessage(events).AppendText(string.Empty, events);
        }

        foreach (var item in _items)
        {
            item.Close(Status, events);
        }
    }

    /// <summary>Marks the items still open as cut off, for a response that failed.</summary>
    public void Abandon()
    {
        foreach (var item in _items)
        {
            item.Abandon();
        }
    }

    /// <summary>Writes <c>output</c>, and <c>output_text</c>, the text of every message, which SDKs offer as a convenience.</summary>
    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartArray("output"u8);
        foreach (var item in _items)
        {
            item.Write(json);
        }

        json.WriteEndArray();
        json.WriteString("output_text"u8, string.Concat(_items.OfType<MessageOutputItem>().Select(message => message.OutputText)));
    }

    private MessageOutputItem OpenMessage(ResponseEvents? events) => _message ??= Add(new MessageOutputItem(_items.Count), events);

    private T Add<T>(T item, ResponseEvents? events)
        where T : OutputItem
    {
        _items.Add(item);
        if (events is not null)
        {
            item.WriteAdded(events);
        }

        return item;
    }
}
