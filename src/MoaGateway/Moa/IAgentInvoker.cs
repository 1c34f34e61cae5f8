using OpenAI.Chat;

namespace MoaGateway.Moa;

/// <summary>Calls one upstream model. Failures surface as <see cref="UpstreamException"/>; cancellation as usual.</summary>
public interface IAgentInvoker
{
    /// <summary>A proposer call: the agent's configured settings, plain-text answer.</summary>
    Task<AgentAnswer> CompleteAsync(AgentSpec agent, IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken);

    /// <summary>An aggregator call: the client's parameters in <paramref name="options"/>, the agent's settings where the client set none.</summary>
    IAsyncEnumerable<ChatDelta> StreamAsync(
        AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CancellationToken cancellationToken);
}

public sealed record AgentAnswer(string Text, TokenCounts? Usage);
