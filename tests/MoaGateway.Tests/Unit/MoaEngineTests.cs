using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using MoaGateway.Moa;
using OpenAI.Chat;

namespace MoaGateway.Tests.Unit;

public sealed class MoaEngineTests
{
    private static readonly VirtualModel TwoLayers = new(
        "two",
        null,
        [new LayerSpec([new AgentSpec("p", "a1"), new AgentSpec("p", "a2")]), new LayerSpec([new AgentSpec("p", "b1")])],
        [new AgentSpec("p", "agg")],
        "Combine.");

    [Fact]
    public async Task Usage_sums_every_proposer_and_the_aggregator()
    {
        var invoker = new ScriptedInvoker();
        var run = new MoaRun(TwoLayers);

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        // Proposers report (10, 5) each; the aggregator (20, 7).
        Assert.Equal(new TokenCounts(3 * 10 + 20, 3 * 5 + 7), run.TotalUsage);
        Assert.Equal(4, run.Calls.Count);
        Assert.Single(run.Calls, c => c.IsAggregator && c.Outcome == CallOutcome.Answered);
    }

    [Fact]
    public async Task Calls_without_reported_usage_count_as_zero_but_are_still_listed()
    {
        var invoker = new ScriptedInvoker { UsageOf = agent => agent.Model == "a2" ? null : new TokenCounts(10, 5) };
        var run = new MoaRun(TwoLayers);

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        Assert.Equal(new TokenCounts(2 * 10 + 20, 2 * 5 + 7), run.TotalUsage);
        var unreported = run.Calls.Single(c => c.Agent.Model == "a2");
        Assert.Null(unreported.Usage);
        Assert.True(unreported.UsageUnreported);
        Assert.All(run.Calls.Where(c => c != unreported), call => Assert.False(call.UsageUnreported));
    }

    [Fact]
    public async Task Usage_of_a_failed_attempt_that_the_provider_reported_is_added_to_its_retry()
    {
        // a1's first attempt reports (4, 2, cached 3) and then breaks; the retry answers with (10, 5).
        var invoker = new ScriptedInvoker { FailedAttemptUsage = agent => agent.Model == "a1" ? new TokenCounts(4, 2, CachedPrompt: 3) : null };
        var run = new MoaRun(TwoLayers);

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        var retried = run.Calls.Single(c => c.Agent.Model == "a1");
        Assert.Equal(2, retried.Attempts);
        Assert.Equal(new TokenCounts(14, 7, CachedPrompt: 3), retried.Usage);
        Assert.False(retried.UsageUnreported);
        Assert.Equal(new TokenCounts(3 * 10 + 20 + 4, 3 * 5 + 7 + 2, CachedPrompt: 3), run.TotalUsage);
    }

    [Fact]
    public async Task Failed_proposers_are_dropped_from_the_references()
    {
        var invoker = new ScriptedInvoker { Fails = agent => agent.Model == "a1" };
        var run = new MoaRun(TwoLayers);

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        var layerTwoPrompt = invoker.Received["b1"][0].Content[0].Text;
        Assert.EndsWith("Responses from models:\n1. text of a2", layerTwoPrompt, StringComparison.Ordinal);
        Assert.Equal(CallOutcome.Failed, run.Calls.Single(c => c.Agent.Model == "a1").Outcome);
    }

    [Fact]
    public async Task A_layer_where_every_agent_failed_stops_the_request_before_the_aggregator()
    {
        var invoker = new ScriptedInvoker { Fails = agent => agent.Model is "a1" or "a2" };

        var error = await Assert.ThrowsAsync<ProviderException>(() =>
            Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, new MoaRun(TwoLayers), default)));

        Assert.Equal("Proposer layer 1 got 0 answer(s), fewer than the 1 it needs (p/a1 broke; p/a2 broke).", error.Message);
        Assert.False(invoker.Received.ContainsKey("agg"));
    }

    [Fact]
    public async Task Each_sample_is_a_call_of_its_own_with_a_distinct_seed_and_a_reference_of_its_own()
    {
        var sampled = new VirtualModel(
            "self", null, [new LayerSpec([new AgentSpec("p", "a1"), new AgentSpec("p", "s") { Samples = 3 }])], [new AgentSpec("p", "agg")], "Combine.");
        var invoker = new ScriptedInvoker();
        var run = new MoaRun(sampled);

#pragma warning disable OPENAI001 // The SDK marks seed as evaluation-only.
        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(
            sampled, [new UserChatMessage("Q")], () => new ChatCompletionOptions { Seed = 40 }, streamed: true, run, default));
#pragma warning restore OPENAI001

        // Seeds follow the client's, one more for each call of the layer; the unsampled agent gets none.
        Assert.Equal(
            [(new CallPosition(1, 0), (long?)null), (new CallPosition(1, 1, 0), 41), (new CallPosition(1, 1, 1), 42), (new CallPosition(1, 1, 2), 43)],
            run.Calls.Where(call => !call.IsAggregator).Select(call => (call.Position, call.Agent.Seed)));
        Assert.EndsWith(
            "Responses from models:\n1. text of a1\n2. text of s, seed 41\n3. text of s, seed 42\n4. text of s, seed 43",
            invoker.Received["agg"][0].Content[0].Text,
            StringComparison.Ordinal);
        Assert.Equal(5, sampled.UpstreamCallCount);
    }

    [Fact]
    public async Task Samples_without_a_client_seed_still_get_distinct_seeds()
    {
        var sampled = new VirtualModel("self", null, [new LayerSpec([new AgentSpec("p", "s") { Samples = 4 }])], [new AgentSpec("p", "agg")], "Combine.");
        var run = new MoaRun(sampled);

        await Drain(new MoaEngine(new ScriptedInvoker(), NullLogger<MoaEngine>.Instance).RunAsync(
            sampled, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        var seeds = run.Calls.Where(call => !call.IsAggregator).Select(call => call.Agent.Seed).ToList();
        Assert.All(seeds, seed => Assert.NotNull(seed));
        Assert.Equal(4, seeds.Distinct().Count());
    }

    [Theory]
    [InlineData("", "stop", "p/a1 answered with no text.")]
    [InlineData(" \n\t ", "stop", "p/a1 answered with no text.")]
    [InlineData("", "length", "p/a1 reached its token limit before any text.")]
    public async Task An_empty_answer_is_reported_empty_and_left_out_of_the_references(string text, string finishReason, string error)
    {
        var invoker = new ScriptedInvoker { Answer = agent => agent.Model == "a1" ? (text, finishReason) : ($"text of {agent.Model}", "stop") };
        var run = new MoaRun(TwoLayers);

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(TwoLayers, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, run, default));

        var empty = run.Calls.Single(call => call.Agent.Model == "a1");
        Assert.Equal((CallOutcome.Empty, error), (empty.Outcome, empty.Error));
        Assert.EndsWith("Responses from models:\n1. text of a2", invoker.Received["b1"][0].Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_answer_does_not_count_toward_MinAgents()
    {
        var model = TwoLayers with { Layers = [new LayerSpec([new AgentSpec("p", "a1"), new AgentSpec("p", "a2")], MinAgents: 2)] };
        var invoker = new ScriptedInvoker { Answer = agent => (agent.Model == "a1" ? " " : "text", "stop") };

        var error = await Assert.ThrowsAsync<ProviderException>(() =>
            Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(model, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, new MoaRun(model), default)));

        Assert.Equal("Proposer layer 1 got 1 answer(s), fewer than the 2 it needs (p/a1 answered with no text.).", error.Message);
        Assert.Equal(ProviderFailure.Error, error.Failure);
    }

    [Fact]
    public async Task References_longer_than_MaxReferenceCharacters_are_cut_with_a_marker()
    {
        var model = TwoLayers with { MaxReferenceCharacters = 6 };
        var invoker = new ScriptedInvoker();

        await Drain(new MoaEngine(invoker, NullLogger<MoaEngine>.Instance).RunAsync(model, [new UserChatMessage("Q")], () => new ChatCompletionOptions(), streamed: true, new MoaRun(model), default));

        Assert.EndsWith(
            $"Responses from models:\n1. text o{AggregatePrompt.TruncationMarker}\n2. text o{AggregatePrompt.TruncationMarker}",
            invoker.Received["b1"][0].Content[0].Text,
            StringComparison.Ordinal);
    }

    private static async Task Drain(IAsyncEnumerable<ChatDelta> deltas)
    {
        await foreach (var _ in deltas)
        {
        }
    }

    /// <summary>Answers "text of {model}" (and its seed, for a sample) at once, remembering the messages each model received.</summary>
    private sealed class ScriptedInvoker : IAgentInvoker
    {
        public Func<AgentSpec, bool> Fails { get; init; } = _ => false;

        public Func<AgentSpec, (string Text, string FinishReason)> Answer { get; init; } =
            agent => (agent.Seed is { } seed ? $"text of {agent.Model}, seed {seed}" : $"text of {agent.Model}", "stop");

        public Func<AgentSpec, TokenCounts?> UsageOf { get; init; } = _ => new TokenCounts(10, 5);

        /// <summary>When it gives usage, a first attempt reports it, then fails and is retried, as the provider invoker would.</summary>
        public Func<AgentSpec, TokenCounts?> FailedAttemptUsage { get; init; } = _ => null;

        public Dictionary<string, IReadOnlyList<ChatMessage>> Received { get; } = [];

        public Task<AgentAnswer> CompleteAsync(AgentSpec agent, IReadOnlyList<ChatMessage> messages, CallProgress progress, CancellationToken cancellationToken)
        {
            lock (Received)
            {
                Received[agent.Model] = messages;
            }

            if (FailedAttemptUsage(agent) is { } failedAttempt)
            {
                progress.StartAttempt();
                progress.Received(new ChatDelta(Content: "half"));
                progress.Received(new ChatDelta(Usage: failedAttempt));
            }

            progress.StartAttempt();
            if (Fails(agent))
            {
                return Task.FromException<AgentAnswer>(new ProviderException($"{agent} broke"));
            }

            var (text, finishReason) = Answer(agent);
            progress.Received(new ChatDelta(Content: text, FinishReason: finishReason, Usage: UsageOf(agent)));
            return Task.FromResult(new AgentAnswer(text, finishReason));
        }

        public async IAsyncEnumerable<ChatDelta> StreamAsync(
            AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var delta in await CollectAsync(agent, messages, options, progress, cancellationToken))
            {
                yield return delta;
            }
        }

        public async Task<IReadOnlyList<ChatDelta>> CollectAsync(
            AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress, CancellationToken cancellationToken)
        {
            Received[agent.Model] = messages;
            await Task.Yield();
            progress.StartAttempt();
            ChatDelta[] deltas = [new ChatDelta(Content: "final"), new ChatDelta(FinishReason: "stop"), new ChatDelta(Usage: new TokenCounts(20, 7))];
            foreach (var delta in deltas)
            {
                progress.Received(delta);
            }

            return deltas;
        }
    }
}
