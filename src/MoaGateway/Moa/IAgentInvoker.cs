using OpenAI.Chat;

namespace MoaGateway.Moa;

/// <summary>
/// Calls one upstream model, with the provider's timeouts, retries and limits applied. Failures surface as
/// <see cref="ProviderException"/>; cancellation through the token as usual. Every attempt is reported in the
/// <see cref="CallProgress"/>, with every event it read, so that its usage counts even when the call fails.
/// </summary>
public interface IAgentInvoker
{
    /// <summary>
    /// A proposer call: the agent's configured settings and, for a sample, its seed; the whole plain-text answer (retried
    /// as a whole). When <paramref name="progress"/> has a <see cref="CallProgress.Feed"/>, the text is also written
    /// there as it arrives, each attempt from its start.
    /// </summary>
    Task<AgentAnswer> CompleteAsync(AgentSpec agent, IReadOnlyList<ChatMessage> messages, CallProgress progress, CancellationToken cancellationToken);

    /// <summary>
    /// An aggregator call: the client's parameters in <paramref name="options"/>, the agent's settings where the client
    /// set none. Retried only until its first delta: after that, tokens may already be with the client. The stream
    /// ends normally only after a delta with a finish reason; one cut short throws instead.
    /// </summary>
    IAsyncEnumerable<ChatDelta> StreamAsync(
        AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress, CancellationToken cancellationToken);

    /// <summary>
    /// An aggregator call whose answer reaches the client only once it is whole (a non-streamed request): the client's
    /// parameters as in <see cref="StreamAsync"/>, but, as nothing of the answer has left the gateway, retried whole at
    /// any point, as a proposer is. The deltas in the order they arrived.
    /// </summary>
    Task<IReadOnlyList<ChatDelta>> CollectAsync(
        AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress, CancellationToken cancellationToken);
}

public sealed record AgentAnswer(string Text, string? FinishReason = null);
