using System.Text.Json;

namespace MoaGateway.Api;

/// <summary>Checks one chat message against the roles and content shapes of OpenAI's Chat Completions API.</summary>
internal static class MessageValidation
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    private static readonly string[] UserPartTypes = ["text", "image_url", "input_audio", "file"];

    public static OpenAiError? Validate(JsonElement message, string path)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest($"'{path}' must be an object with a 'role'.", path);
        }

        if (!message.TryGetProperty("role", out var roleValue) || roleValue.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{path}.role' is required and must be a string.", $"{path}.role");
        }

        var role = roleValue.GetString()!;
        if (!Roles.Contains(role))
        {
            return OpenAiError.InvalidRequest(
                $"Invalid value for '{path}.role': '{role}'. Supported values are: {string.Join(", ", Roles.Select(r => $"'{r}'"))}.",
                $"{path}.role",
                "invalid_value");
        }

        if (message.TryGetProperty("name", out var name) && name.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return OpenAiError.InvalidRequest($"'{path}.name' must be a string.", $"{path}.name");
        }

        message.TryGetProperty("content", out var content);
        return role switch
        {
            "system" or "developer" => RequireContent(content, path, allowedParts: ["text"]),
            "user" => RequireContent(content, path, UserPartTypes),
            "assistant" => ValidateAssistant(message, content, path),
            "tool" => RequireString(message, "tool_call_id", path) ?? RequireContent(content, path, allowedParts: ["text"]),
            _ => RequireString(message, "name", path) ?? RequireContent(content, path, allowedParts: ["text"]),
        };
    }

    /// <summary>Characters of text in a message already validated: string content, or its text parts.</summary>
    public static long TextLength(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return 0;
        }

        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString()!.Length,
            JsonValueKind.Array => content.EnumerateArray()
                .Sum(part => part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? (long)text.GetString()!.Length : 0),
            _ => 0,
        };
    }

    private static OpenAiError? ValidateAssistant(JsonElement message, JsonElement content, string path)
    {
        var hasToolCalls = false;
        if (message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind != JsonValueKind.Null)
        {
            if (toolCalls.ValueKind != JsonValueKind.Array)
            {
                return OpenAiError.InvalidRequest($"'{path}.tool_calls' must be an array.", $"{path}.tool_calls");
            }

            var index = 0;
            foreach (var call in toolCalls.EnumerateArray())
            {
                if (ValidateToolCall(call, $"{path}.tool_calls[{index++}]") is { } error)
                {
                    return error;
                }
            }

            hasToolCalls = index > 0;
        }

        var hasFunctionCall = message.TryGetProperty("function_call", out var functionCall) && functionCall.ValueKind != JsonValueKind.Null;
        if (hasFunctionCall && ValidateFunction(functionCall, $"{path}.function_call") is { } functionError)
        {
            return functionError;
        }

        if (content.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return hasToolCalls || hasFunctionCall
                ? null
                : OpenAiError.InvalidRequest($"'{path}.content' is required unless 'tool_calls' is given.", $"{path}.content");
        }

        // Clients replaying a history send assistant turns with empty content (for example beside tool calls); that is no error.
        return content.ValueKind == JsonValueKind.String && content.GetString()!.Length == 0
            ? null
            : RequireContent(content, path, allowedParts: ["text", "refusal"]);
    }

    /// <summary>A tool call being replayed: <c>{"id": "...", "type": "function", "function": {"name": "...", "arguments": "..."}}</c>.</summary>
    private static OpenAiError? ValidateToolCall(JsonElement call, string path)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest($"'{path}' must be an object with 'id', 'type' and 'function'.", path);
        }

        if (RequireString(call, "id", path) is { } idError)
        {
            return idError;
        }

        if (!(call.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("function"u8)))
        {
            return OpenAiError.InvalidRequest($"'{path}.type' is required and must be 'function'.", $"{path}.type", "invalid_value");
        }

        call.TryGetProperty("function", out var function);
        return ValidateFunction(function, $"{path}.function");
    }

    /// <summary>The function of a tool call, or a legacy <c>function_call</c>: a string <c>name</c> and string <c>arguments</c>.</summary>
    private static OpenAiError? ValidateFunction(JsonElement function, string path) =>
        function.ValueKind == JsonValueKind.Object
            ? RequireString(function, "name", path) ?? RequireString(function, "arguments", path)
            : OpenAiError.InvalidRequest($"'{path}' is required and must be an object with 'name' and 'arguments'.", path);

    private static OpenAiError? RequireContent(JsonElement content, string path, string[] allowedParts)
    {
        var param = $"{path}.content";
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!.Length == 0
                    ? OpenAiError.InvalidRequest($"'{param}' must not be empty.", param, "empty_content")
                    : null;
            case JsonValueKind.Array:
                if (content.GetArrayLength() == 0)
                {
                    return OpenAiError.InvalidRequest($"'{param}' must not be an empty array.", param, "empty_content");
                }

                var index = 0;
                foreach (var part in content.EnumerateArray())
                {
                    if (ValidatePart(part, $"{param}[{index++}]", allowedParts) is { } error)
                    {
                        return error;
                    }
                }

                return null;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return OpenAiError.InvalidRequest($"'{param}' is required.", param);
            default:
                return OpenAiError.InvalidRequest($"'{param}' must be a string or an array of content parts.", param);
        }
    }

    private static OpenAiError? ValidatePart(JsonElement part, string path, string[] allowedParts)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return OpenAiError.InvalidRequest($"'{path}' must be an object with a string 'type'.", path);
        }

        var typeName = type.GetString()!;
        if (!allowedParts.Contains(typeName))
        {
            return OpenAiError.InvalidRequest(
                $"Invalid value for '{path}.type': '{typeName}'. Supported values here are: {string.Join(", ", allowedParts.Select(t => $"'{t}'"))}.",
                $"{path}.type",
                "invalid_value");
        }

        return typeName switch
        {
            "text" => RequireString(part, "text", path),
            "refusal" => RequireString(part, "refusal", path),
            _ => part.TryGetProperty(typeName, out var payload) && payload.ValueKind == JsonValueKind.Object
                ? null
                : OpenAiError.InvalidRequest($"'{path}.{typeName}' must be an object.", $"{path}.{typeName}"),
        };
    }

    /// <summary>An error naming <c>path.property</c> unless <paramref name="element"/> has that property as a string.</summary>
    public static OpenAiError? RequireString(JsonElement element, string property, string path) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? null
            : OpenAiError.InvalidRequest($"'{path}.{property}' is required and must be a string.", $"{path}.{property}");
}
