using System.Text.Json;
using MoaGateway.Moa;

namespace MoaGateway.OpenAiWire;

/// <summary>Identity shared by every chunk of one completion; <paramref name="SystemFingerprint"/> says what produced it, when told.</summary>
public readonly record struct CompletionHeader(string Id, long Created, string Model, string? SystemFingerprint = null)
{
    public static CompletionHeader Create(string model, string? systemFingerprint = null) =>
        new($"chatcmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, systemFingerprint);
}

/// <summary>Writes OpenAI <c>chat.completion</c> and <c>chat.completion.chunk</c> objects straight to a UTF-8 writer.</summary>
public static class ChatCompletionJson
{
    public static void WriteChunk(Utf8JsonWriter json, CompletionHeader header, ChatDelta delta, bool withRole)
    {
        json.WriteStartObject();
        WriteHeader(json, header, "chat.completion.chunk");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        if (withRole)
        {
            json.WriteString("role", "assistant");
        }

        if (delta.Content is not null)
        {
            json.WriteString("content", delta.Content);
        }

        if (delta.Refusal is not null)
        {
            json.WriteString("refusal", delta.Refusal);
        }

        if (delta.ToolCalls is { Count: > 0 } toolCalls)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in toolCalls)
            {
                json.WriteStartObject();
                json.WriteNumber("index", call.Index);
                if (call.Id is not null)
                {
                    json.WriteString("id", call.Id);
                    json.WriteString("type", "function");
                }

                json.WriteStartObject("function");
                if (call.FunctionName is not null)
                {
                    json.WriteString("name", call.FunctionName);
                }

                json.WriteString("arguments", call.ArgumentsFragment ?? string.Empty);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        WriteFinishReason(json, delta.FinishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The extra chunk of <c>stream_options.include_usage</c>: no choices, only usage.</summary>
    public static void WriteUsageChunk(Utf8JsonWriter json, CompletionHeader header, TokenCounts usage, Action<Utf8JsonWriter>? usageExtension)
    {
        BeginChunkWithoutChoices(json, header);
        WriteUsage(json, usage, usageExtension);
        json.WriteEndObject();
    }

    /// <summary>
    /// Starts a chunk with an empty <c>choices</c>, shaped as the usage chunk is, which the SDKs read past: for what the
    /// gateway sends beside the answer. Write its own fields, then end the object.
    /// </summary>
    public static void BeginChunkWithoutChoices(Utf8JsonWriter json, CompletionHeader header)
    {
        json.WriteStartObject();
        WriteHeader(json, header, "chat.completion.chunk");
        json.WriteStartArray("choices");
        json.WriteEndArray();
    }

    /// <param name="json">Where to write.</param>
    /// <param name="header">The completion's identity.</param>
    /// <param name="answer">The whole answer.</param>
    /// <param name="usage">Tokens of every upstream call.</param>
    /// <param name="usageExtension">Writes the gateway's own fields inside <c>usage</c>.</param>
    /// <param name="extension">Writes the gateway's own fields at the top level, after <c>usage</c>.</param>
    public static void WriteCompletion(
        Utf8JsonWriter json, CompletionHeader header, ChatAnswer answer, TokenCounts usage, Action<Utf8JsonWriter>? usageExtension,
        Action<Utf8JsonWriter>? extension = null)
    {
        json.WriteStartObject();
        WriteHeader(json, header, "chat.completion");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        if (answer.Content is { } content)
        {
            json.WriteString("content", content);
        }
        else
        {
            json.WriteNull("content");
        }

        if (answer.Refusal is { } refusal)
        {
            json.WriteString("refusal", refusal);
        }
        else
        {
            json.WriteNull("refusal");
        }

        if (answer.ToolCalls.Count > 0)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in answer.ToolCalls)
            {
                json.WriteStartObject();
                json.WriteString("id", call.Id);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.FunctionName);
                json.WriteString("arguments", call.Arguments);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        WriteFinishReason(json, answer.FinishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, usage, usageExtension);
        extension?.Invoke(json);
        json.WriteEndObject();
    }

    /// <summary>OpenAI's error envelope: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static void WriteError(Utf8JsonWriter json, string message, string type, string? param, string? code)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", message);
        json.WriteString("type", type);
        WriteNullableString(json, "param", param);
        WriteNullableString(json, "code", code);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteHeader(Utf8JsonWriter json, CompletionHeader header, string objectType)
    {
        json.WriteString("id", header.Id);
        json.WriteString("object", objectType);
        json.WriteNumber("created", header.Created);
        json.WriteString("model", header.Model);
        WriteNullableString(json, "system_fingerprint", header.SystemFingerprint);
    }

    /// <summary>The token counts of a usage object as OpenAI writes them, with the cached and reasoning tokens in their details.</summary>
    public static void WriteTokenCounts(Utf8JsonWriter json, TokenCounts counts)
    {
        json.WriteNumber("prompt_tokens", counts.Prompt);
        json.WriteNumber("completion_tokens", counts.Completion);
        json.WriteNumber("total_tokens", counts.Total);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", counts.CachedPrompt);
        json.WriteEndObject();
        json.WriteStartObject("completion_tokens_details");
        json.WriteNumber("reasoning_tokens", counts.Reasoning);
        json.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter json, TokenCounts usage, Action<Utf8JsonWriter>? extension)
    {
        json.WriteStartObject("usage");
        WriteTokenCounts(json, usage);
        extension?.Invoke(json);
        json.WriteEndObject();
    }

    private static void WriteFinishReason(Utf8JsonWriter json, string? finishReason) =>
        WriteNullableString(json, "finish_reason", finishReason);

    private static void WriteNullableString(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
