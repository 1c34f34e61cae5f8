using OpenAI.Chat;

namespace MoaGateway.Api;

/// <summary>A request turned into what the MoA engine takes: SDK messages and the aggregator's options.</summary>
internal sealed record MoaInput(IReadOnlyList<ChatMessage>? Messages, ChatCompletionOptions? AggregatorOptions, OpenAiError? Error)
{
    public static MoaInput From(ChatRequest request)
    {
        try
        {
            return new MoaInput(request.ToMessages(), request.ToAggregatorOptions(), null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The SDK's readers reject shapes the structural checks let through (a malformed tool call, say); that is the client's error.
            return new MoaInput(null, null, OpenAiError.InvalidRequest($"The request could not be read as a chat completion request: {exception.Message}"));
        }
    }
}
