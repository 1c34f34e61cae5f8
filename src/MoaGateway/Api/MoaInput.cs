using System.ClientModel.Primitives;
using OpenAI.Chat;

namespace MoaGateway.Api;

/// <summary>
/// A request turned into what the MoA engine takes: SDK messages, and the aggregator's options read afresh from the
/// request for each aggregator tried (a write-and-read copy of the SDK's options is lossy, and throws on some).
/// </summary>
internal sealed record MoaInput(IReadOnlyList<ChatMessage>? Messages, Func<ChatCompletionOptions>? AggregatorOptions, OpenAiError? Error)
{
    public static MoaInput From(ChatRequest request)
    {
        var message = -1;
        try
        {
            var messages = request.ToMessages();

            // The SDK writes what its readers accepted only when it sends a call. A shape it cannot write (the structural
            // checks let it through) is found here, as the client's error, instead of failing every upstream call later.
            for (message = 0; message < messages.Count; message++)
            {
                ModelReaderWriter.Write(messages[message]);
            }

            message = -1;
            ModelReaderWriter.Write(request.ToAggregatorOptions());
            return new MoaInput(messages, request.ToAggregatorOptions, null);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            var param = message >= 0 ? $"messages[{message}]" : null;
            return new MoaInput(null, null, OpenAiError.InvalidRequest(
                $"{(param is null ? "The request" : $"'{param}'")} could not be read as part of a chat completion request: {exception.Message}", param));
        }
    }
}
