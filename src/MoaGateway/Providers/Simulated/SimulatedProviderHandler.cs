using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Providers.Simulated;

/// <summary>
/// An OpenAI-compatible chat completions server that lives inside the gateway's HTTP client: the SDK and the
/// pass-through forwarder talk to it exactly as to a real provider, with no network and no tokens spent.
/// </summary>
public sealed class SimulatedProviderHandler(SimulationOptions options) : HttpMessageHandler
{
    /// <summary>The <c>system_fingerprint</c> of every simulated answer, and of MoA answers that a simulated provider took part in.</summary>
    public const string SystemFingerprint = "moagateway-simulated";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Post ||
            request.RequestUri?.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal) != true ||
            request.Content is null)
        {
            return Error(HttpStatusCode.NotFound, "The simulated provider serves only POST /v1/chat/completions.");
        }

        var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return Error(HttpStatusCode.BadRequest, "The request body is not valid JSON.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object ||
                !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String ||
                !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return Error(HttpStatusCode.BadRequest, "The request needs a string 'model' and an array 'messages'.");
            }

            var modelName = model.GetString()!;
            var seed = root.TryGetProperty("seed", out var seedValue) && seedValue.ValueKind == JsonValueKind.Number && seedValue.TryGetInt64(out var number)
                ? number
                : (long?)null;
            var tokens = SimulatedAnswer.Tokens(modelName, messages, seed, options.AnswerTokens, MaxTokens(root), out var finishReason);
            var usage = new TokenCounts(SimulatedAnswer.CountPromptTokens(messages), tokens.Count);
            var header = CompletionHeader.Create(modelName, SystemFingerprint);

            return IsTrue(root, "stream")
                ? Stream(header, tokens, finishReason, usage, IncludeUsage(root), cancellationToken)
                : await CompleteAsync(header, tokens, finishReason, usage, cancellationToken);
        }
    }

    private async Task<HttpResponseMessage> CompleteAsync(
        CompletionHeader header, IReadOnlyList<string> tokens, string finishReason, TokenCounts usage, CancellationToken cancellationToken)
    {
        await Task.Delay(FirstTokenDelay + (TokenInterval * (tokens.Count - 1)), cancellationToken);
        var answer = new ChatAnswer();
        answer.Append(new ChatDelta(Content: string.Concat(tokens), FinishReason: finishReason));
        return Json(HttpStatusCode.OK, json => ChatCompletionJson.WriteCompletion(json, header, answer, usage, usageExtension: null));
    }

    private HttpResponseMessage Stream(
        CompletionHeader header, IReadOnlyList<string> tokens, string finishReason, TokenCounts usage, bool includeUsage, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        _ = WriteStreamAsync(pipe.Writer, header, tokens, finishReason, usage, includeUsage, cancellationToken);
        var content = new StreamContent(pipe.Reader.AsStream());
        content.Headers.ContentType = new MediaTypeHeaderValue(SseWriter.MediaType);
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    private async Task WriteStreamAsync(
        PipeWriter pipe, CompletionHeader header, IReadOnlyList<string> tokens, string finishReason, TokenCounts usage, bool includeUsage,
        CancellationToken cancellationToken)
    {
        using var sse = new SseWriter(pipe);
        try
        {
            await Task.Delay(FirstTokenDelay, cancellationToken);
            for (var i = 0; i < tokens.Count; i++)
            {
                if (i > 0 && TokenInterval > TimeSpan.Zero)
                {
                    await Task.Delay(TokenInterval, cancellationToken);
                }

                ChatCompletionJson.WriteChunk(sse.BeginEvent(), header, new ChatDelta(Content: tokens[i]), withRole: i == 0);
                if ((await sse.EndEventAsync(cancellationToken)).IsCompleted)
                {
                    return;
                }
            }

            ChatCompletionJson.WriteChunk(sse.BeginEvent(), header, new ChatDelta(FinishReason: finishReason), withRole: false);
            await sse.EndEventAsync(cancellationToken);
            if (includeUsage)
            {
                ChatCompletionJson.WriteUsageChunk(sse.BeginEvent(), header, usage, usageExtension: null);
                await sse.EndEventAsync(cancellationToken);
            }

            await sse.WriteDoneAsync(cancellationToken);
            await pipe.CompleteAsync();
        }
        catch (Exception exception) when (exception is OperationCanceledException or InvalidOperationException)
        {
            // The reader went away (cancelled or disposed the response); completing with the error ends the stream as broken, not finished.
            await pipe.CompleteAsync(exception);
        }
    }

    private TimeSpan FirstTokenDelay => TimeSpan.FromMilliseconds(options.TimeToFirstTokenMs);

    private TimeSpan TokenInterval =>
        options.TokensPerSecond > 0 ? TimeSpan.FromSeconds(1 / options.TokensPerSecond) : TimeSpan.Zero;

    private static int? MaxTokens(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (root.TryGetProperty(name, out var value) && value.TryGetInt32(out var limit) && limit > 0)
            {
                return limit;
            }
        }

        return null;
    }

    private static bool IncludeUsage(JsonElement root) =>
        root.TryGetProperty("stream_options", out var streamOptions) &&
        streamOptions.ValueKind == JsonValueKind.Object &&
        IsTrue(streamOptions, "include_usage");

    private static bool IsTrue(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

    private static HttpResponseMessage Error(HttpStatusCode status, string message) =>
        Json(status, json => ChatCompletionJson.WriteError(json, message, "invalid_request_error", param: null, code: null));

    private static HttpResponseMessage Json(HttpStatusCode status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpResponseMessage(status) { Content = content };
    }
}
