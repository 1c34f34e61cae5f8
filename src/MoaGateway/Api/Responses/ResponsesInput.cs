using System.Text.Json;
using MoaGateway.Configuration;

namespace MoaGateway.Api.Responses;

/// <summary>
/// Checks a Responses request's <c>instructions</c> and <c>input</c>, naming the field at fault as OpenAI does
/// (<c>input[3].content[0].type</c>), and writes them as the chat conversation every layer of the mixture gets: the
/// instructions as the first system message, messages as messages (<c>developer</c> as <c>system</c>, which every
/// chat server takes), <c>function_call</c> items as the tool calls of an assistant message, <c>function_call_output</c>
/// items as tool messages; <c>reasoning</c> items are left out. One pass: what is checked is written at once.
/// </summary>
internal static class ResponsesInput
{
    private static readonly string[] Roles = ["user", "assistant", "system", "developer"];

    private static readonly string[] UserParts = ["input_text", "input_image"];

    private static readonly string[] InstructionParts = ["input_text"];

    private static readonly string[] AssistantParts = ["output_text", "refusal", "input_text"];

    private static readonly string[] ItemTypes = ["message", "function_call", "function_call_output", "reasoning"];

    /// <summary>Writes the chat request's <c>messages</c>, or returns the 400 for the first thing wrong.</summary>
    public static OpenAiError? WriteMessages(JsonElement root, Utf8JsonWriter chat, RequestLimitOptions limits)
    {
        var hasInstructions = ParameterValidation.Present(root, "instructions", out var instructions);
        if (hasInstructions && instructions.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest("'instructions' must be a string.", "instructions");
        }

        if (Shape(root, limits, hasInstructions ? 1 : 0) is { } shapeError)
        {
            return shapeError;
        }

        chat.WriteStartArray("messages"u8);
        var conversation = new Conversation(chat);
        if (hasInstructions)
        {
            conversation.Message("system", instructions);
        }

        var input = root.GetProperty("input");
        if (input.ValueKind == JsonValueKind.String)
        {
            conversation.Message("user", input);
        }
        else
        {
            var index = 0;
            foreach (var item in input.EnumerateArray())
            {
                if (Item(item, $"input[{index++}]", conversation) is { } itemError)
                {
                    return itemError;
                }
            }
        }

        conversation.End();
        chat.WriteEndArray();
        return conversation.Characters > limits.MaxTotalCharacters
            ? OpenAiError.InvalidRequest(
                $"The input holds {conversation.Characters} characters of text; the limit is {limits.MaxTotalCharacters}.", "input", "too_many_characters")
            : null;
    }

    private static OpenAiError? Shape(JsonElement root, RequestLimitOptions limits, int instructionMessages)
    {
        if (!root.TryGetProperty("input", out var input) || input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return OpenAiError.InvalidRequest("'input' is required and must be a string or an array of input items.", "input");
        }

        if (input.ValueKind == JsonValueKind.String ? input.GetString()!.Length == 0 : input.GetArrayLength() == 0)
        {
            return OpenAiError.InvalidRequest("'input' must not be empty.", "input", "empty_input");
        }

        var messages = (input.ValueKind == JsonValueKind.String ? 1 : input.GetArrayLength()) + instructionMessages;
        return messages > limits.MaxMessages
            ? OpenAiError.InvalidRequest(
                $"'input' and 'instructions' make {messages} messages; the limit is {limits.MaxMessages}.", "input", "too_many_messages")
            : null;
    }

    private static OpenAiError? Item(JsonElement item, string path, Conversation conversation)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest($"'{path}' must be an object.", path);
        }

        // Easy input messages ({"role": ..., "content": ...}) may leave their type out.
        var type = item.TryGetProperty("type", out var typeValue) ? typeValue : default;
        if (type.ValueKind == JsonValueKind.Undefined && item.TryGetProperty("role", out _))
        {
            return Message(item, path, conversation);
        }

        if (type.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{path}.type' is required and must be a string.", $"{path}.type");
        }

        return type.GetString() switch
        {
            "message" => Message(item, path, conversation),
            "function_call" => FunctionCall(item, path, conversation),
            "function_call_output" => FunctionCallOutput(item, path, conversation),
            "reasoning" => null,
            "item_reference" => OpenAiError.InvalidRequest(
                $"'{path}' is an item_reference; the gateway is stateless and stores no items: send the item itself.",
                $"{path}.type",
                "unsupported_value"),
            var other => OpenAiError.InvalidRequest(
                $"Invalid value for '{path}.type': '{other}'. Supported values are: {Quoted(ItemTypes)}.", $"{path}.type", "invalid_value"),
        };
    }

    private static OpenAiError? Message(JsonElement item, string path, Conversation conversation)
    {
        if (!item.TryGetProperty("role", out var roleValue) || roleValue.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{path}.role' is required and must be a string.", $"{path}.role");
        }

        var role = roleValue.GetString()!;
        var allowedParts = role switch
        {
            "user" => UserParts,
            "assistant" => AssistantParts,
            "system" or "developer" => InstructionParts,
            _ => null,
        };
        if (allowedParts is null)
        {
            return OpenAiError.InvalidRequest(
                $"Invalid value for '{path}.role': '{role}'. Supported values are: {Quoted(Roles)}.", $"{path}.role", "invalid_value");
        }

        var content = item.TryGetProperty("content", out var contentValue) ? contentValue : default;
        var param = $"{path}.content";
        switch (content.ValueKind)
        {
            // Replayed assistant turns may be empty; any other message must say something.
            case JsonValueKind.String when content.GetString()!.Length > 0 || role == "assistant":
                conversation.Message(role, content);
                return null;
            case JsonValueKind.String:
                return OpenAiError.InvalidRequest($"'{param}' must not be empty.", param, "empty_content");
            case JsonValueKind.Array when content.GetArrayLength() > 0:
                return Parts(content, param, role, allowedParts, conversation);
            case JsonValueKind.Array:
                return OpenAiError.InvalidRequest($"'{param}' must not be an empty array.", param, "empty_content");
            default:
                return OpenAiError.InvalidRequest($"'{param}' is required and must be a string or an array of content parts.", param);
        }
    }

    private static OpenAiError? Parts(JsonElement content, string path, string role, string[] allowedParts, Conversation conversation)
    {
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.InvalidRequest($"'{partPath}' must be an object with a string 'type'.", partPath);
            }

            var typeName = type.GetString()!;
            if (!allowedParts.Contains(typeName))
            {
                return OpenAiError.InvalidRequest(
                    $"Invalid value for '{partPath}.type': '{typeName}'. Supported values in a {role} message are: {Quoted(allowedParts)}.",
                    $"{partPath}.type",
                    "invalid_value");
            }

            var error = typeName switch
            {
                "refusal" => RequireString(part, "refusal", partPath),
                "input_image" => Image(part, partPath),
                _ => RequireString(part, "text", partPath),
            };
            if (error is not null)
            {
                return error;
            }
        }

        conversation.Message(role, content);
        return null;
    }

    private static OpenAiError? Image(JsonElement part, string path)
    {
        if (part.TryGetProperty("image_url", out var url) && url.ValueKind == JsonValueKind.String && url.GetString()!.Length > 0)
        {
            return part.TryGetProperty("detail", out var detail) && detail.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
                ? OpenAiError.InvalidRequest($"'{path}.detail' must be a string.", $"{path}.detail")
                : null;
        }

        return part.TryGetProperty("file_id", out _)
            ? OpenAiError.InvalidRequest(
                $"'{path}.file_id' names an uploaded file; the gateway has no file store: send the image as 'image_url' (a URL or a data: URL).",
                $"{path}.file_id",
                "unsupported_value")
            : OpenAiError.InvalidRequest($"'{path}.image_url' is required and must be a URL or a data: URL.", $"{path}.image_url");
    }

    private static OpenAiError? FunctionCall(JsonElement item, string path, Conversation conversation)
    {
        if ((RequireString(item, "call_id", path) ?? RequireString(item, "name", path) ?? RequireString(item, "arguments", path)) is { } error)
        {
            return error;
        }

        conversation.ToolCall(item);
        return null;
    }

    private static OpenAiError? FunctionCallOutput(JsonElement item, string path, Conversation conversation)
    {
        if (RequireString(item, "call_id", path) is { } error)
        {
            return error;
        }

        var output = item.TryGetProperty("output", out var outputValue) ? outputValue : default;
        var param = $"{path}.output";
        if (output.ValueKind == JsonValueKind.Array)
        {
            // Chat tool messages carry text only.
            var index = 0;
            foreach (var part in output.EnumerateArray())
            {
                var partPath = $"{param}[{index++}]";
                if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || !type.ValueEquals("input_text"u8))
                {
                    return OpenAiError.InvalidRequest(
                        $"'{partPath}' must be an input_text part: tool results reach the mixture as text only.", $"{partPath}.type", "invalid_value");
                }

                if (RequireString(part, "text", partPath) is { } partError)
                {
                    return partError;
                }
            }
        }
        else if (output.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{param}' is required and must be a string or an array of input_text parts.", param);
        }

        // Every chat server refuses a tool result without its call, and a refusal by every agent is no provider's fault.
        var callId = item.GetProperty("call_id").GetString()!;
        if (!conversation.HasCall(callId))
        {
            return OpenAiError.InvalidRequest(
                $"'{path}.call_id' is '{callId}', but no function_call item before it has that call_id: send the call with its output.",
                $"{path}.call_id",
                "invalid_value");
        }

        conversation.ToolOutput(item.GetProperty("call_id"), output);
        return null;
    }

    private static OpenAiError? RequireString(JsonElement element, string property, string path) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? null
            : OpenAiError.InvalidRequest($"'{path}.{property}' is required and must be a string.", $"{path}.{property}");

    private static string Quoted(IEnumerable<string> values) => string.Join(", ", values.Select(value => $"'{value}'"));

    /// <summary>
    /// Writes chat messages. Function calls join the assistant message just before them, or one of their own, which
    /// stays open while calls follow, so that parallel calls become one assistant message with several tool calls.
    /// </summary>
    private sealed class Conversation(Utf8JsonWriter chat)
    {
        private readonly HashSet<string> _callIds = new(StringComparer.Ordinal);
        private bool _assistantOpen;
        private bool _toolCallsOpen;

        /// <summary>Characters of text written so far, for the request's limit.</summary>
        public long Characters { get; private set; }

        public void Message(string role, JsonElement content)
        {
            End();
            chat.WriteStartObject();
            chat.WriteString("role"u8, role == "developer" ? "system" : role);
            WriteContent(content);
            if (role == "assistant")
            {
                _assistantOpen = true;
            }
            else
            {
                chat.WriteEndObject();
            }
        }

        public void ToolCall(JsonElement item)
        {
            if (!_assistantOpen)
            {
                End();
                chat.WriteStartObject();
                chat.WriteString("role"u8, "assistant"u8);
                chat.WriteNull("content"u8);
                _assistantOpen = true;
            }

            if (!_toolCallsOpen)
            {
                chat.WriteStartArray("tool_calls"u8);
                _toolCallsOpen = true;
            }

            _callIds.Add(item.GetProperty("call_id").GetString()!);
            var arguments = item.GetProperty("arguments").GetString()!;
            Characters += arguments.Length;
            chat.WriteStartObject();
            chat.WritePropertyName("id"u8);
            item.GetProperty("call_id").WriteTo(chat);
            chat.WriteString("type"u8, "function"u8);
            chat.WriteStartObject("function"u8);
            chat.WritePropertyName("name"u8);
            item.GetProperty("name").WriteTo(chat);
            chat.WriteString("arguments"u8, arguments);
            chat.WriteEndObject();
            chat.WriteEndObject();
        }

        public bool HasCall(string callId) => _callIds.Contains(callId);

        public void ToolOutput(JsonElement callId, JsonElement output)
        {
            End();
            chat.WriteStartObject();
            chat.WriteString("role"u8, "tool"u8);
            chat.WritePropertyName("tool_call_id"u8);
            callId.WriteTo(chat);
            WriteContent(output);
            chat.WriteEndObject();
        }

        /// <summary>Closes the assistant message still open, if any.</summary>
        public void End()
        {
            if (_toolCallsOpen)
            {
                chat.WriteEndArray();
                _toolCallsOpen = false;
            }

            if (_assistantOpen)
            {
                chat.WriteEndObject();
                _assistantOpen = false;
            }
        }

        /// <summary>A string as it is; parts as chat parts (<c>text</c>, <c>refusal</c>, <c>image_url</c>).</summary>
        private void WriteContent(JsonElement content)
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                Characters += content.GetString()!.Length;
                chat.WritePropertyName("content"u8);
                content.WriteTo(chat);
                return;
            }

            chat.WriteStartArray("content"u8);
            foreach (var part in content.EnumerateArray())
            {
                chat.WriteStartObject();
                switch (part.GetProperty("type").GetString())
                {
                    case "refusal":
                        chat.WriteString("type"u8, "refusal"u8);
                        WriteText(part, "refusal");
                        break;
                    case "input_image":
                        chat.WriteString("type"u8, "image_url"u8);
                        chat.WriteStartObject("image_url"u8);
                        chat.WritePropertyName("url"u8);
                        part.GetProperty("image_url").WriteTo(chat);
                        if (part.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String)
                        {
                            chat.WritePropertyName("detail"u8);
                            detail.WriteTo(chat);
                        }

                        chat.WriteEndObject();
                        break;
                    default:
                        chat.WriteString("type"u8, "text"u8);
                        WriteText(part, "text");
                        break;
                }

                chat.WriteEndObject();
            }

            chat.WriteEndArray();
        }

        private void WriteText(JsonElement part, string property)
        {
            var text = part.GetProperty(property);
            Characters += text.GetString()!.Length;
            chat.WritePropertyName(property);
            text.WriteTo(chat);
        }
    }
}
