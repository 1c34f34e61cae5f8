using System.Text.Json;

namespace MoaGateway.Api.Responses;

/// <summary>
/// Checks what a Responses request asks of the aggregator's answer (<c>tools</c>, <c>tool_choice</c>,
/// <c>parallel_tool_calls</c>, <c>text.format</c>) and writes it in chat completions terms. Only function tools can
/// be offered: no provider behind the gateway runs OpenAI's built-in tools, so any other type is refused by name.
/// </summary>
internal static class ResponsesTools
{
    private static readonly string[] ToolChoiceModes = ["auto", "none", "required"];

    public static OpenAiError? Write(JsonElement root, Utf8JsonWriter chat) =>
        Tools(root, chat) ?? ToolChoice(root, chat) ?? ParallelToolCalls(root, chat) ?? TextFormat(root, chat);

    private static OpenAiError? Tools(JsonElement root, Utf8JsonWriter chat)
    {
        if (!ParameterValidation.Present(root, "tools", out var tools))
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            return OpenAiError.InvalidRequest("'tools' must be an array.", "tools");
        }

        if (tools.GetArrayLength() == 0)
        {
            return null;
        }

        chat.WriteStartArray("tools"u8);
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{index++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.InvalidRequest($"'{path}' must be an object with a string 'type'.", path);
            }

            if (!type.ValueEquals("function"u8))
            {
                return OpenAiError.InvalidRequest(
                    $"'{path}' is a '{type.GetString()}' tool, which the gateway cannot offer: none of its providers runs OpenAI's built-in tools. " +
                    "Only 'function' tools are supported; leave this one out of the request.",
                    $"{path}.type",
                    "unsupported_tool_type");
            }

            if (Function(tool, path) is { } error)
            {
                return error;
            }

            chat.WriteStartObject();
            chat.WriteString("type"u8, "function"u8);
            WriteNested(chat, "function", tool, "name", "description", "parameters", "strict");
            chat.WriteEndObject();
        }

        chat.WriteEndArray();
        return null;
    }

    private static OpenAiError? Function(JsonElement tool, string path)
    {
        if (!(tool.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString()!.Length > 0))
        {
            return OpenAiError.InvalidRequest($"'{path}.name' is required and must be a non-empty string.", $"{path}.name");
        }

        if (ParameterValidation.Present(tool, "parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest($"'{path}.parameters' must be an object (a JSON schema).", $"{path}.parameters");
        }

        if (ParameterValidation.Present(tool, "description", out var description) && description.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{path}.description' must be a string.", $"{path}.description");
        }

        return ParameterValidation.Present(tool, "strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
            ? OpenAiError.InvalidRequest($"'{path}.strict' must be a boolean.", $"{path}.strict")
            : null;
    }

    private static OpenAiError? ToolChoice(JsonElement root, Utf8JsonWriter chat)
    {
        if (!ParameterValidation.Present(root, "tool_choice", out var choice))
        {
            return null;
        }

        if (choice.ValueKind == JsonValueKind.String && ToolChoiceModes.Contains(choice.GetString()))
        {
            chat.WritePropertyName("tool_choice"u8);
            choice.WriteTo(chat);
            return null;
        }

        if (choice.ValueKind == JsonValueKind.Object &&
            choice.TryGetProperty("type", out var type) && type.ValueEquals("function"u8) &&
            choice.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            chat.WriteStartObject("tool_choice"u8);
            chat.WriteString("type"u8, "function"u8);
            chat.WriteStartObject("function"u8);
            chat.WritePropertyName("name"u8);
            name.WriteTo(chat);
            chat.WriteEndObject();
            chat.WriteEndObject();
            return null;
        }

        return OpenAiError.InvalidRequest(
            "'tool_choice' must be 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": ...}: only function tools are supported.",
            "tool_choice",
            "invalid_value");
    }

    private static OpenAiError? ParallelToolCalls(JsonElement root, Utf8JsonWriter chat)
    {
        if (ParameterValidation.Boolean(root, "parallel_tool_calls") is { } error)
        {
            return error;
        }

        if (ParameterValidation.Present(root, "parallel_tool_calls", out var parallel))
        {
            chat.WritePropertyName("parallel_tool_calls"u8);
            parallel.WriteTo(chat);
        }

        return null;
    }

    /// <summary><c>text.format</c> becomes <c>response_format</c>: <c>text</c> (the default), <c>json_object</c>, or <c>json_schema</c>.</summary>
    private static OpenAiError? TextFormat(JsonElement root, Utf8JsonWriter chat)
    {
        if (!ParameterValidation.Present(root, "text", out var text))
        {
            return null;
        }

        if (text.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest("'text' must be an object.", "text");
        }

        if (!ParameterValidation.Present(text, "format", out var format))
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest("'text.format' must be an object with a string 'type'.", "text.format");
        }

        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                chat.WriteStartObject("response_format"u8);
                chat.WriteString("type"u8, "json_object"u8);
                chat.WriteEndObject();
                return null;
            case "json_schema":
                if (!(format.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString()!.Length > 0))
                {
                    return OpenAiError.InvalidRequest("'text.format.name' is required and must be a non-empty string.", "text.format.name");
                }

                if (!(format.TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.Object))
                {
                    return OpenAiError.InvalidRequest("'text.format.schema' is required and must be an object (a JSON schema).", "text.format.schema");
                }

                chat.WriteStartObject("response_format"u8);
                chat.WriteString("type"u8, "json_schema"u8);
                WriteNested(chat, "json_schema", format, "name", "schema", "description", "strict");
                chat.WriteEndObject();
                return null;
            case var other:
                return OpenAiError.InvalidRequest(
                    $"Invalid value for 'text.format.type': '{other}'. Supported values are: 'text', 'json_object', 'json_schema'.",
                    "text.format.type",
                    "invalid_value");
        }
    }

    /// <summary>
    /// Chat completions nests what the Responses API keeps flat (<c>{"type": "function", "name": ...}</c> becomes
    /// <c>{"type": "function", "function": {"name": ...}}</c>): writes <paramref name="fields"/> of <paramref name="source"/> under <paramref name="name"/>.
    /// </summary>
    private static void WriteNested(Utf8JsonWriter chat, string name, JsonElement source, params ReadOnlySpan<string> fields)
    {
        chat.WriteStartObject(name);
        foreach (var field in fields)
        {
            if (source.TryGetProperty(field, out var value))
            {
                chat.WritePropertyName(field);
                value.WriteTo(chat);
            }
        }

        chat.WriteEndObject();
    }
}
