using System.Text.Json;

namespace MoaGateway.Api;

/// <summary>Checks the sampling and output parameters of a chat request by type and range.</summary>
internal static class ParameterValidation
{
    public static OpenAiError? Validate(JsonElement root) =>
        Boolean(root, "stream") ??
        StreamOptions(root) ??
        N(root) ??
        Number(root, "temperature", 0, 2) ??
        Number(root, "top_p", 0, 1) ??
        Number(root, "presence_penalty", -2, 2) ??
        Number(root, "frequency_penalty", -2, 2) ??
        PositiveInt(root, "max_tokens") ??
        PositiveInt(root, "max_completion_tokens") ??
        Stop(root) ??
        Seed(root) ??
        OfKind(root, "user", JsonValueKind.String, "a string") ??
        Tools(root) ??
        ToolChoice(root) ??
        OfKind(root, "response_format", JsonValueKind.Object, "an object") ??
        Audio(root);

    public static OpenAiError? Boolean(JsonElement root, string name) =>
        Present(root, name, out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
            ? OpenAiError.InvalidRequest($"'{name}' must be a boolean.", name)
            : null;

    private static OpenAiError? StreamOptions(JsonElement root)
    {
        if (!Present(root, "stream_options", out var options))
        {
            return null;
        }

        if (options.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest("'stream_options' must be an object.", "stream_options");
        }

        if (!(root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True))
        {
            return OpenAiError.InvalidRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
        }

        return Boolean(options, "include_usage") is null
            ? null
            : OpenAiError.InvalidRequest("'stream_options.include_usage' must be a boolean.", "stream_options.include_usage");
    }

    private static OpenAiError? N(JsonElement root) =>
        Present(root, "n", out var n) && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count == 1)
            ? OpenAiError.InvalidRequest(
                "'n' must be 1: a Mixture-of-Agents answer is one synthesis; send separate requests for more choices.", "n", "unsupported_value")
            : null;

    public static OpenAiError? Number(JsonElement root, string name, double min, double max) =>
        Present(root, name, out var value) &&
        !(value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && number >= min && number <= max)
            ? OpenAiError.InvalidRequest($"'{name}' must be a number from {min} to {max}.", name)
            : null;

    public static OpenAiError? PositiveInt(JsonElement root, string name) =>
        Present(root, name, out var value) &&
        !(value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= 1)
            ? OpenAiError.InvalidRequest($"'{name}' must be a positive integer.", name)
            : null;

    private static OpenAiError? Seed(JsonElement root) =>
        Present(root, "seed", out var value) && !(value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _))
            ? OpenAiError.InvalidRequest("'seed' must be an integer.", "seed")
            : null;

    private static OpenAiError? Stop(JsonElement root)
    {
        if (!Present(root, "stop", out var stop) || stop.ValueKind == JsonValueKind.String)
        {
            return null;
        }

        return stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= 4 &&
               stop.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String)
            ? null
            : OpenAiError.InvalidRequest("'stop' must be a string or an array of up to 4 strings.", "stop");
    }

    private static OpenAiError? Tools(JsonElement root)
    {
        if (!Present(root, "tools", out var tools))
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            return OpenAiError.InvalidRequest("'tools' must be an array.", "tools");
        }

        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{index++}]";
            if (!(tool.ValueKind == JsonValueKind.Object &&
                  tool.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("function"u8) &&
                  tool.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object &&
                  function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString()!.Length > 0))
            {
                return OpenAiError.InvalidRequest(
                    $"'{path}' must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.", path);
            }
        }

        return null;
    }

    private static OpenAiError? ToolChoice(JsonElement root) =>
        Present(root, "tool_choice", out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Object)
            ? OpenAiError.InvalidRequest("'tool_choice' must be a string or an object.", "tool_choice")
            : null;

    /// <summary>Audio output needs both its voice and its format, as in OpenAI's API; the SDK cannot even copy the options without them.</summary>
    private static OpenAiError? Audio(JsonElement root)
    {
        if (!Present(root, "audio", out var audio))
        {
            return null;
        }

        return audio.ValueKind != JsonValueKind.Object
            ? OpenAiError.InvalidRequest("'audio' must be an object with 'voice' and 'format'.", "audio")
            : MessageValidation.RequireString(audio, "voice", "audio") ?? MessageValidation.RequireString(audio, "format", "audio");
    }

    public static OpenAiError? OfKind(JsonElement root, string name, JsonValueKind kind, string description) =>
        Present(root, name, out var value) && value.ValueKind != kind
            ? OpenAiError.InvalidRequest($"'{name}' must be {description}.", name)
            : null;

    /// <summary>True when the field is there and not null; JSON null means "unset", as in OpenAI's API.</summary>
    public static bool Present(JsonElement root, string name, out JsonElement value) =>
        root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
}
