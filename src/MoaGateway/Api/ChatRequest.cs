using System.ClientModel.Primitives;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using MoaGateway.Configuration;
using OpenAI.Chat;

namespace MoaGateway.Api;

/// <summary>
/// A validated <c>POST /v1/chat/completions</c> body. Validation is strict and names the offending parameter the way
/// OpenAI does (<c>messages[2].role</c>), so a client learns what to fix instead of meeting an upstream failure.
/// </summary>
public sealed class ChatRequest : IDisposable
{
    private static readonly JsonDocumentOptions StrictJson = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>Fields the gateway handles itself rather than handing to the aggregator.</summary>
    private static readonly HashSet<string> GatewayFields =
        ["model", "messages", "stream", "stream_options", "n", "max_tokens", "max_completion_tokens", MoaExtension.Field];

    private readonly JsonDocument _document;

    private ChatRequest(JsonDocument document, string model, bool stream, bool includeUsage)
    {
        _document = document;
        Model = model;
        Stream = stream;
        IncludeUsage = includeUsage;
    }

    public string Model { get; }

    public bool Stream { get; }

    /// <summary><c>stream_options.include_usage</c>: the client wants a final chunk with the usage.</summary>
    public bool IncludeUsage { get; }

    /// <summary>The <c>moa</c> object, when the client sent one (not null): the gateway's own, never sent upstream.</summary>
    public JsonElement? Moa =>
        Root.TryGetProperty(MoaExtension.Field, out var moa) && moa.ValueKind != JsonValueKind.Null ? moa : null;

    /// <summary>The conversation as the client sent it, for content logging.</summary>
    public string MessagesJson => Root.GetProperty("messages").GetRawText();

    private JsonElement Root => _document.RootElement;

    public static ChatRequest? Parse(ReadOnlyMemory<byte> body, RequestLimitOptions limits, out OpenAiError? error)
    {
        // The JSON reader checks UTF-8 only when a string is read; checking first keeps a bad byte from surfacing later as a crash.
        if (!Utf8.IsValid(body.Span))
        {
            error = OpenAiError.InvalidRequest("The request body is not valid UTF-8.", code: "invalid_json");
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, StrictJson);
        }
        catch (JsonException exception)
        {
            error = OpenAiError.InvalidRequest($"The request body is not valid JSON: {exception.Message}", code: "invalid_json");
            return null;
        }
        catch (InvalidOperationException)
        {
            // The check for duplicate names decodes every property name, and one with an unpaired surrogate cannot be
            // decoded. Parsed without that check, the document shows where it is.
            using var withDuplicates = JsonDocument.Parse(body, StrictJson with { AllowDuplicateProperties = true });
            error = UnpairedSurrogateError(withDuplicates.RootElement, body.Span) ??
                    OpenAiError.InvalidRequest("The request body holds a property name that cannot be decoded.", code: "invalid_json");
            return null;
        }

        error = UnpairedSurrogateError(document.RootElement, body.Span) ?? Validate(document.RootElement, limits);
        if (error is not null)
        {
            document.Dispose();
            return null;
        }

        var root = document.RootElement;
        var stream = root.TryGetProperty("stream", out var streamValue) && streamValue.ValueKind == JsonValueKind.True;
        var includeUsage = root.TryGetProperty("stream_options", out var streamOptions) &&
                           streamOptions.ValueKind == JsonValueKind.Object &&
                           streamOptions.TryGetProperty("include_usage", out var includeValue) &&
                           includeValue.ValueKind == JsonValueKind.True;
        return new ChatRequest(document, root.GetProperty("model").GetString()!, stream, includeUsage);
    }

    /// <summary>The conversation as OpenAI SDK messages, every field the client sent preserved.</summary>
    public IReadOnlyList<ChatMessage> ToMessages()
    {
        var messages = new List<ChatMessage>(Root.GetProperty("messages").GetArrayLength());
        foreach (var message in Root.GetProperty("messages").EnumerateArray())
        {
            messages.Add(ModelReaderWriter.Read<ChatMessage>(BinaryData.FromBytes(JsonMarshal.GetRawUtf8Value(message).ToArray()))!);
        }

        return messages;
    }

    /// <summary>
    /// The client's parameters for the aggregator: every field except those the gateway handles, unknown
    /// provider-specific ones (such as <c>top_k</c>) included, and the client's token limit whichever name it used.
    /// </summary>
    public ChatCompletionOptions ToAggregatorOptions()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var property in Root.EnumerateObject())
            {
                if (!GatewayFields.Contains(property.Name))
                {
                    property.WriteTo(json);
                }
            }

            json.WriteEndObject();
        }

        var options = ModelReaderWriter.Read<ChatCompletionOptions>(BinaryData.FromBytes(buffer.WrittenMemory))!;
        options.MaxOutputTokenCount = OptionalInt("max_completion_tokens") ?? OptionalInt("max_tokens");
        return options;
    }

    public void Dispose() => _document.Dispose();

    private int? OptionalInt(string name) =>
        Root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    /// <summary>Checked before any other, so that every string read afterwards, here or by the SDK, can be decoded.</summary>
    private static OpenAiError? UnpairedSurrogateError(JsonElement root, ReadOnlySpan<byte> body)
    {
        if (UnpairedSurrogates.Find(root, body) is not { } path)
        {
            return null;
        }

        var param = path.TrimStart('.');
        return OpenAiError.InvalidRequest(
            $"{(param.Length == 0 ? "The request body" : $"'{param}'")} holds an unpaired UTF-16 surrogate escape (such as \\ud800 without its low half); JSON strings must be valid Unicode.",
            param.Length == 0 ? null : param,
            "invalid_unicode");
    }

    private static OpenAiError? Validate(JsonElement root, RequestLimitOptions limits)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidRequest("The request body must be a JSON object.");
        }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString()!.Length == 0)
        {
            return OpenAiError.InvalidRequest("'model' is required and must be a non-empty string.", "model");
        }

        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return OpenAiError.InvalidRequest("'messages' is required and must be an array of messages.", "messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            return OpenAiError.InvalidRequest("'messages' must contain at least one message.", "messages", "empty_array");
        }

        if (messages.GetArrayLength() > limits.MaxMessages)
        {
            return OpenAiError.InvalidRequest(
                $"'messages' has {messages.GetArrayLength()} messages; the limit is {limits.MaxMessages}.", "messages", "too_many_messages");
        }

        var index = 0;
        var characters = 0L;
        foreach (var message in messages.EnumerateArray())
        {
            if (MessageValidation.Validate(message, $"messages[{index++}]") is { } error)
            {
                return error;
            }

            characters += MessageValidation.TextLength(message);
        }

        if (characters > limits.MaxTotalCharacters)
        {
            return OpenAiError.InvalidRequest(
                $"The messages hold {characters} characters of text; the limit is {limits.MaxTotalCharacters}.", "messages", "too_many_characters");
        }

        return ParameterValidation.Validate(root);
    }
}
