using System.Runtime.CompilerServices;
using MoaGateway.Moa;
using OpenAI.Chat;

namespace MoaGateway.Providers;

/// <summary>Calls agents through the official OpenAI SDK, every call streamed, under its provider's resilience pipeline.</summary>
public sealed class OpenAiAgentInvoker(ProviderRegistry providers) : IAgentInvoker
{
    public async Task<AgentAnswer> CompleteAsync(
        AgentSpec agent, IReadOnlyList<ChatMessage> messages, CallProgress progress, CancellationToken cancellationToken)
    {
        var answer = new ChatAnswer();
#pragma warning disable OPENAI001 // The SDK marks seed as evaluation-only; providers accept it today.
        var options = new ChatCompletionOptions { Seed = agent.Seed };
#pragma warning restore OPENAI001
        foreach (var delta in await CollectAsync(agent, messages, options, progress, cancellationToken))
        {
            answer.Append(delta);
        }

        return new AgentAnswer(answer.Content ?? string.Empty, answer.FinishReason);
    }

    public async IAsyncEnumerable<ChatDelta> StreamAsync(
        AgentSpec agent,
        IReadOnlyList<ChatMessage> messages,
        ChatCompletionOptions options,
        CallProgress progress,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var provider = providers.Get(agent.Provider);
        WithAgentDefaults(options, agent, provider);
        // Retried only until the first delta: after that, tokens may be on their way to the client.
        await using var attempt = await provider.Resilience.ExecuteAsync(
            agent.Model, token => ProviderAttempt.OpenAsync(provider, agent, messages, options, progress, token), cancellationToken);
        do
        {
            yield return attempt.Current;
        }
        while (await attempt.MoveNextAsync());
    }

    public async Task<IReadOnlyList<ChatDelta>> CollectAsync(
        AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress, CancellationToken cancellationToken)
    {
        var provider = providers.Get(agent.Provider);
        WithAgentDefaults(options, agent, provider);
        // Nothing of this answer has left the gateway, so a failure at any point may be retried whole.
        return await provider.Resilience.ExecuteAsync(agent.Model, async token =>
        {
            await using var attempt = await ProviderAttempt.OpenAsync(provider, agent, messages, options, progress, token);
            var deltas = new List<ChatDelta>();
            do
            {
                deltas.Add(attempt.Current);
                if (progress.Feed is { } feed && attempt.Current.Content is { } text)
                {
                    feed.Append(text);
                }
            }
            while (await attempt.MoveNextAsync());

            return deltas;
        }, cancellationToken);
    }

    /// <summary>Fills in the agent's configured settings where the request set none, in the field its provider understands.</summary>
    private static ChatCompletionOptions WithAgentDefaults(ChatCompletionOptions options, AgentSpec agent, Provider provider)
    {
        options.Temperature ??= agent.Temperature;
        options.MaxOutputTokenCount ??= agent.MaxTokens;
        if (options.MaxOutputTokenCount is { } maxTokens && provider.Options.MaxTokensField == "max_tokens")
        {
            options.MaxOutputTokenCount = null;
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send a field its model types do not expose.
            options.Patch.Set("$.max_tokens"u8, maxTokens);
#pragma warning restore SCME0001
        }

        return options;
    }
}
