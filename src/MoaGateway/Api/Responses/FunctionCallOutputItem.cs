using System.Text;
using System.Text.Json;

namespace MoaGateway.Api.Responses;

/// <summary>A <c>function_call</c> item: one tool call of the aggregator, its arguments streamed as they arrive.</summary>
internal sealed class FunctionCallOutputItem(string? callId, string? name, int outputIndex) : OutputItem($"fc_{Guid.NewGuid():N}", outputIndex)
{
    private readonly StringBuilder _arguments = new();

    private string CallId => callId ?? string.Empty;

    private string Name => name ?? string.Empty;

    public void AppendArguments(string? fragment, ResponseEvents? events)
    {
        if (string.IsNullOrEmpty(fragment))
        {
            return;
        }

        _arguments.Append(fragment);
        if (events is not null)
        {
            var json = BeginItemEvent(events, "response.function_call_arguments.delta"u8);
            json.WriteString("delta"u8, fragment);
            events.End();
        }
    }

    public override void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, Id);
        json.WriteString("type"u8, "function_call"u8);
        json.WriteString("status"u8, Status);
        json.WriteString("call_id"u8, CallId);
        json.WriteString("name"u8, Name);
        json.WriteString("arguments"u8, _arguments.ToString());
        json.WriteEndObject();
    }

    protected override void WriteDoneEvents(ResponseEvents events)
    {
        var json = BeginItemEvent(events, "response.function_call_arguments.done"u8);
        json.WriteString("name"u8, Name);
        json.WriteString("arguments"u8, _arguments.ToString());
        events.End();
    }
}
