using System.Buffers;
using System.Text.Json;
using MoaGateway.Configuration;

namespace MoaGateway.Api.Responses;

/// <summary>
/// A validated <c>POST /v1/responses</c> body for a virtual model, translated once into the chat request that the
/// mixture runs on (<see cref="Chat"/>), and kept for what the response echoes back. The gateway is stateless: what
/// would need a stored response or conversation is refused with a 400 that says to resend the conversation.
/// </summary>
internal sealed class ResponsesRequest : IDisposable
{
    /// <summary>Fields that only make sense with state kept on the server, and what the client should do instead.</summary>
    private static readonly (string Field, string Instead)[] Stateful =
    [
        ("previous_response_id", "send the whole conversation in 'input' with every request"),
        ("conversation", "send the whole conversation in 'input' with every request"),
        ("prompt", "send the prompt's text as 'instructions' and 'input'"),
    ];

    private readonly JsonElement _root;

    private ResponsesRequest(JsonElement root, ChatRequest chat)
    {
        _root = root;
        Chat = chat;
    }

    /// <summary>The same request in chat completions terms: the conversation every layer gets and the aggregator's options.</summary>
    public ChatRequest Chat { get; }

    /// <summary>Validates <paramref name="root"/>, which must outlive the request, and translates it.</summary>
    public static ResponsesRequest? Parse(JsonElement root, RequestLimitOptions limits, out OpenAiError? error)
    {
        var chat = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(chat))
        {
            error = Refused(root) ?? Parameters(root) ?? Translate(root, json, limits);
            if (error is not null)
            {
                return null;
            }
        }

        return new ResponsesRequest(root, ChatRequest.FromTranslation(chat.WrittenMemory));
    }

    /// <summary>The request fields a response object repeats, with OpenAI's defaults for those the client left out.</summary>
    public void WriteEcho(Utf8JsonWriter json)
    {
        Echo(json, "instructions", null);
        Echo(json, "max_output_tokens", null);
        Echo(json, "parallel_tool_calls", static json => json.WriteBooleanValue(true));
        Echo(json, "temperature", null);
        Echo(json, "text", static json =>
        {
            json.WriteStartObject();
            json.WriteStartObject("format"u8);
            json.WriteString("type"u8, "text"u8);
            json.WriteEndObject();
            json.WriteEndObject();
        });
        Echo(json, "tool_choice", static json => json.WriteStringValue("auto"u8));
        Echo(json, "tools", static json =>
        {
            json.WriteStartArray();
            json.WriteEndArray();
        });
        Echo(json, "top_p", null);
        Echo(json, "user", null);
        Echo(json, "metadata", static json =>
        {
            json.WriteStartObject();
            json.WriteEndObject();
        });
    }

    public void Dispose() => Chat.Dispose();

    private void Echo(Utf8JsonWriter json, string name, Action<Utf8JsonWriter>? writeDefault)
    {
        json.WritePropertyName(name);
        if (ParameterValidation.Present(_root, name, out var value))
        {
            value.WriteTo(json);
        }
        else if (writeDefault is not null)
        {
            writeDefault(json);
        }
        else
        {
            json.WriteNullValue();
        }
    }

    private static OpenAiError? Refused(JsonElement root)
    {
        foreach (var (field, instead) in Stateful)
        {
            if (ParameterValidation.Present(root, field, out _))
            {
                return Stateless(field, instead);
            }
        }

        return root.TryGetProperty("background", out var background) && background.ValueKind == JsonValueKind.True
            ? Stateless("background", "send the request without it and keep the connection open (use 'stream' to see the answer as it comes)")
            : null;
    }

    private static OpenAiError Stateless(string field, string instead) => OpenAiError.InvalidRequest(
        $"'{field}' is not supported: the gateway is stateless and keeps no responses or conversations; {instead}.", field, "unsupported_parameter");

    private static OpenAiError? Parameters(JsonElement root) =>
        ParameterValidation.Boolean(root, "stream") ??
        ParameterValidation.Boolean(root, "background") ??
        ParameterValidation.Boolean(root, "store") ??
        ParameterValidation.Number(root, "temperature", 0, 2) ??
        ParameterValidation.Number(root, "top_p", 0, 1) ??
        ParameterValidation.PositiveInt(root, "max_output_tokens") ??
        ParameterValidation.OfKind(root, "user", JsonValueKind.String, "a string") ??
        Metadata(root) ??
        Include(root);

    private static OpenAiError? Metadata(JsonElement root)
    {
        if (!ParameterValidation.Present(root, "metadata", out var metadata))
        {
            return null;
        }

        return metadata.ValueKind == JsonValueKind.Object && metadata.EnumerateObject().All(pair => pair.Value.ValueKind == JsonValueKind.String)
            ? null
            : OpenAiError.InvalidRequest("'metadata' must be an object of string values.", "metadata");
    }

    /// <summary><c>include</c> asks for extra output the gateway does not produce; its values are ignored, its shape is checked.</summary>
    private static OpenAiError? Include(JsonElement root) =>
        ParameterValidation.Present(root, "include", out var include) &&
        !(include.ValueKind == JsonValueKind.Array && include.EnumerateArray().All(value => value.ValueKind == JsonValueKind.String))
            ? OpenAiError.InvalidRequest("'include' must be an array of strings.", "include")
            : null;

    /// <summary>
    /// The chat request: the conversation, tools and format, and the sampling fields chat completions shares. Fields
    /// of the Responses API without a chat counterpart (<c>reasoning</c>, <c>truncation</c>, <c>prompt_cache_key</c>,
    /// <c>include</c>, <c>metadata</c>...) and unknown ones stay behind: clients send fields an upstream may refuse.
    /// </summary>
    private static OpenAiError? Translate(JsonElement root, Utf8JsonWriter chat, RequestLimitOptions limits)
    {
        chat.WriteStartObject();
        foreach (var field in root.EnumerateObject())
        {
            if (field.NameEquals("model"u8) || field.NameEquals("stream"u8) || field.NameEquals("temperature"u8) ||
                field.NameEquals("top_p"u8) || field.NameEquals("user"u8) || field.NameEquals("moa"u8))
            {
                field.WriteTo(chat);
            }
            else if (field.NameEquals("max_output_tokens"u8) && field.Value.ValueKind == JsonValueKind.Number)
            {
                chat.WritePropertyName("max_completion_tokens"u8);
                field.Value.WriteTo(chat);
            }
        }

        var error = ResponsesInput.WriteMessages(root, chat, limits) ?? ResponsesTools.Write(root, chat);
        if (error is null)
        {
            chat.WriteEndObject();
        }

        return error;
    }
}
