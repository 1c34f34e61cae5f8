using System.ClientModel.Primitives;
using System.Runtime.InteropServices;
using System.Text.Json;
using MoaGateway.Configuration;
using OpenAI.Chat;

namespace MoaGateway.Api;

/// <summary>
/// A validated <c>POST /v1/chat/completions</c> body. Validation is strict and names the offending parameter the way
/// OpenAI does (<c>messages[2].role</c>), so a client learns what to fix instead of meeting an upstream failure.
/// </summary>
public sealed class ChatRequest : IDisposable
{
    /// <summary>Fields the gateway handles itself rather than handing to the aggregator.</summary>
    private static readonly HashSet<string> GatewayFields =
        ["model", "messages", "stream", "stream_options", "n", "max_tokens", "max_completion_tokens", MoaExtension.Field];

    private readonly JsonDocument _document;

    private ChatRequest(JsonDocument document, bool includeUsage)
    {
        _document = document;
        Model = Root.GetProperty("model").GetString()!;
        Stream = Root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        IncludeUsage = includeUsage;
    }

    public string Model { get; }

    public bool Stream { get; }

    /// <summary><c>stream_options.include_usage</c>: the client wants a final chunk with the usage.</summary>
    public bool IncludeUsage { get; }

    /// <summary>The <c>moa</c> object, when the client sent one (not null): the gateway's own, never sent upstream.</summary>
    public JsonElement? Moa => MoaExtension.Find(Root);

    /// <summary>The conversation as the client sent it, for content logging.</summary>
    public string MessagesJson => Root.GetProperty("messages").GetRawText();

    private JsonElement Root => _document.RootElement;

    public static ChatRequest? Parse(ReadOnlyMemory<byte> body, RequestLimitOptions limits, out OpenAiError? error)
    {
        var document = RequestJson.Parse(body, out error);
        if (document is null)
        {
            return null;
        }

        error = Validate(document.RootElement, limits);
        if (error is not null)
        {
            document.Dispose();
            return null;
        }

        var includeUsage = document.RootElement.TryGetProperty("stream_options", out var streamOptions) &&
                           streamOptions.ValueKind == JsonValueKind.Object &&
                           streamOptions.TryGetProperty("include_usage", out var includeValue) &&
                           includeValue.ValueKind == JsonValueKind.True;
        return new ChatRequest(document, includeUsage);
    }

    /// <summary>
    /// A chat request the gateway wrote itself from a request of another API (the Responses API), which was validated
    /// in that API's terms, so that its errors name that API's fields; this one is not validated again.
    /// </summary>
    internal static ChatRequest FromTranslation(ReadOnlyMemory<byte> body) => new(JsonDocument.Parse(body), includeUsage: false);

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

    private static OpenAiError? Validate(JsonElement root, RequestLimitOptions limits)
    {
        if (RequestJson.ModelError(root) is { } modelError)
        {
            return modelError;
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
