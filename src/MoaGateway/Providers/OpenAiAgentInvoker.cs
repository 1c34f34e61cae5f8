using System.ClientModel;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MoaGateway.Moa;
using OpenAI.Chat;

namespace MoaGateway.Providers;

/// <summary>Calls agents through the official OpenAI SDK, enforcing each provider's timeout and translating failures.</summary>
public sealed class OpenAiAgentInvoker(UpstreamRegistry upstreams) : IAgentInvoker
{
    public async Task<AgentAnswer> CompleteAsync(AgentSpec agent, IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        var upstream = upstreams.Get(agent.Provider);
        var options = WithAgentDefaults(new ChatCompletionOptions(), agent, upstream);
        using var deadline = Deadline(upstream, cancellationToken);
        try
        {
            ChatCompletion completion = await upstream.GetChatClient(agent.Model).CompleteChatAsync(messages, options, deadline.Token);
            var text = string.Concat(completion.Content.Select(part => part.Text));
            return new AgentAnswer(text, ToCounts(completion.Usage));
        }
        catch (Exception exception) when (Translate(exception, agent, upstream, deadline, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<ChatDelta> StreamAsync(
        AgentSpec agent,
        IReadOnlyList<ChatMessage> messages,
        ChatCompletionOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var upstream = upstreams.Get(agent.Provider);
        WithAgentDefaults(options, agent, upstream);
        using var deadline = Deadline(upstream, cancellationToken);
        var updates = upstream.GetChatClient(agent.Model).CompleteChatStreamingAsync(messages, options, deadline.Token);
        await using var enumerator = updates.GetAsyncEnumerator(deadline.Token);
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception exception) when (Translate(exception, agent, upstream, deadline, cancellationToken) is { } failure)
            {
                throw failure;
            }

            if (ToDelta(enumerator.Current) is { } delta)
            {
                yield return delta;
            }
        }
    }

    /// <summary>Fills in the agent's configured settings where the request set none, in the field its provider understands.</summary>
    private static ChatCompletionOptions WithAgentDefaults(ChatCompletionOptions options, AgentSpec agent, Upstream upstream)
    {
        options.Temperature ??= agent.Temperature;
        options.MaxOutputTokenCount ??= agent.MaxTokens;
        if (options.MaxOutputTokenCount is { } maxTokens && upstream.Options.MaxTokensField == "max_tokens")
        {
            options.MaxOutputTokenCount = null;
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send a field its model types do not expose.
            options.Patch.Set("$.max_tokens"u8, maxTokens);
#pragma warning restore SCME0001
        }

        return options;
    }

    private static CancellationTokenSource Deadline(Upstream upstream, CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(upstream.Options.TimeoutSeconds));
        return deadline;
    }

    /// <summary>Turns an SDK or network failure into a client-safe <see cref="UpstreamException"/>; null lets the caller's cancellation through.</summary>
    private static UpstreamException? Translate(
        Exception exception, AgentSpec agent, Upstream upstream, CancellationTokenSource deadline, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (exception is OperationCanceledException or TimeoutException || deadline.IsCancellationRequested)
        {
            return new UpstreamException(
                $"{agent} did not answer within {upstream.Options.TimeoutSeconds:0.###} s.", UpstreamFailure.Timeout, exception);
        }

        var detail = exception switch
        {
            ClientResultException { Status: > 0 } result => $"HTTP {result.Status}{UpstreamErrorMessage(result)}",
            ClientResultException { InnerException: { } inner } => $"connection failed: {inner.Message}",
            HttpRequestException or IOException => $"connection failed: {exception.Message}",
            _ => $"unreadable response: {exception.Message}",
        };
        return new UpstreamException($"{agent} failed: {upstream.Redact(detail)}", UpstreamFailure.Error, exception);
    }

    private static string UpstreamErrorMessage(ClientResultException exception)
    {
        try
        {
            var content = exception.GetRawResponse()?.Content;
            if (content is null)
            {
                return string.Empty;
            }

            using var document = JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("error", out var error) &&
                   error.ValueKind == JsonValueKind.Object &&
                   error.TryGetProperty("message", out var message) &&
                   message.ValueKind == JsonValueKind.String
                ? $": {message.GetString()}"
                : string.Empty;
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }

    private static ChatDelta? ToDelta(StreamingChatCompletionUpdate update)
    {
        var content = update.ContentUpdate.Count switch
        {
            0 => null,
            1 => update.ContentUpdate[0].Text,
            _ => string.Concat(update.ContentUpdate.Select(part => part.Text)),
        };
        IReadOnlyList<ToolCallDelta>? toolCalls = update.ToolCallUpdates.Count == 0
            ? null
            : [.. update.ToolCallUpdates.Select(call => new ToolCallDelta(
                call.Index, call.ToolCallId, call.FunctionName, call.FunctionArgumentsUpdate?.ToString()))];
        var finishReason = update.FinishReason is { } reason ? FinishReasonName(reason) : null;
        var usage = ToCounts(update.Usage);

        return content is null && update.RefusalUpdate is null && toolCalls is null && finishReason is null && usage is null
            ? null
            : new ChatDelta(content, update.RefusalUpdate, toolCalls, finishReason, usage);
    }

    private static string FinishReasonName(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.FunctionCall => "function_call",
        _ => "stop",
    };

    private static TokenCounts? ToCounts(ChatTokenUsage? usage) =>
        usage is null ? null : new TokenCounts(usage.InputTokenCount, usage.OutputTokenCount);
}
