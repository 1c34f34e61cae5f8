using System.Diagnostics;
using System.Runtime.CompilerServices;
using OpenAI.Chat;

namespace MoaGateway.Moa;

/// <summary>
/// Runs a virtual model: each proposer layer concurrently, every later layer seeing only the previous layer's
/// answers through the Aggregate-and-Synthesize prompt, then the aggregator, whose deltas are yielded as they arrive.
/// </summary>
public sealed class MoaEngine(IAgentInvoker invoker)
{
    /// <param name="model">The virtual model to run.</param>
    /// <param name="messages">The client's conversation, given unchanged to layer 1.</param>
    /// <param name="aggregatorOptions">The client's request parameters; they apply to the aggregator only.</param>
    /// <param name="run">Receives the stage and a report of every upstream call, including failed ones.</param>
    /// <param name="cancellationToken">Cancels every in-flight upstream call.</param>
    public async IAsyncEnumerable<ChatDelta> RunAsync(
        VirtualModel model,
        IReadOnlyList<ChatMessage> messages,
        ChatCompletionOptions aggregatorOptions,
        MoaRun run,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IReadOnlyList<string>? references = null;
        for (var layer = 0; layer < model.Layers.Count; layer++)
        {
            run.Stage = $"proposer layer {layer + 1} of {model.Layers.Count}";
            var layerMessages = references is null ? messages : AggregatePrompt.Inject(messages, model.AggregatePrompt, references);
            references = await RunLayerAsync(layer + 1, model.Layers[layer], layerMessages, run, cancellationToken);
        }

        run.Stage = "aggregator";
        var aggregatorMessages = AggregatePrompt.Inject(messages, model.AggregatePrompt, references!);
        var aggregator = new AggregatorCall(model.Aggregator, run);
        await using var deltas = invoker.StreamAsync(model.Aggregator, aggregatorMessages, aggregatorOptions, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        while (await aggregator.MoveNextAsync(deltas))
        {
            yield return deltas.Current;
        }
    }

    private async Task<IReadOnlyList<string>> RunLayerAsync(
        int layer, IReadOnlyList<AgentSpec> agents, IReadOnlyList<ChatMessage> messages, MoaRun run, CancellationToken cancellationToken)
    {
        var calls = new Task<AgentCallReport>[agents.Count];
        var answers = new string?[agents.Count];
        for (var i = 0; i < agents.Count; i++)
        {
            var index = i;
            calls[i] = ProposeAsync(layer, agents[i], messages, text => answers[index] = text, cancellationToken);
        }

        var reports = await Task.WhenAll(calls);
        foreach (var report in reports)
        {
            run.Record(report);
        }

        // As in the reference implementation, a failed proposer is left out of the references; the layer fails only when none answered.
        var references = answers.OfType<string>().ToArray();
        if (references.Length == 0)
        {
            var failure = reports.All(report => report.Outcome == CallOutcome.TimedOut) ? UpstreamFailure.Timeout : UpstreamFailure.Error;
            var details = string.Join("; ", reports.Select(report => $"{report.Agent}: {report.Error}"));
            throw new UpstreamException($"Every agent of proposer layer {layer} failed ({details}).", failure);
        }

        return references;
    }

    private async Task<AgentCallReport> ProposeAsync(
        int layer, AgentSpec agent, IReadOnlyList<ChatMessage> messages, Action<string> answered, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var answer = await invoker.CompleteAsync(agent, messages, cancellationToken);
            answered(answer.Text);
            return new AgentCallReport(layer, agent, CallOutcome.Answered, answer.Usage, Stopwatch.GetElapsedTime(started));
        }
        catch (UpstreamException exception)
        {
            return new AgentCallReport(layer, agent, OutcomeOf(exception), null, Stopwatch.GetElapsedTime(started), exception.Message);
        }
    }

    private static CallOutcome OutcomeOf(UpstreamException exception) =>
        exception.Failure == UpstreamFailure.Timeout ? CallOutcome.TimedOut : CallOutcome.Failed;

    /// <summary>Tracks the aggregator's stream so its report is recorded exactly once, however the stream ends.</summary>
    private sealed class AggregatorCall(AgentSpec agent, MoaRun run)
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private TokenCounts? _usage;
        private bool _finished;

        public async ValueTask<bool> MoveNextAsync(IAsyncEnumerator<ChatDelta> deltas)
        {
            bool hasNext;
            try
            {
                hasNext = await deltas.MoveNextAsync();
            }
            catch (UpstreamException exception)
            {
                Record(OutcomeOf(exception), exception.Message);
                throw;
            }

            if (hasNext)
            {
                var delta = deltas.Current;
                _usage = delta.Usage ?? _usage;
                _finished |= delta.FinishReason is not null;
                return true;
            }

            // A stream that stops without a finish reason was cut short; relaying it as complete would pass off a truncated answer.
            if (!_finished)
            {
                const string message = "the aggregator's stream ended without a finish reason";
                Record(CallOutcome.Failed, message);
                throw new UpstreamException($"{agent}: {message}.");
            }

            Record(CallOutcome.Answered, null);
            return false;
        }

        private void Record(CallOutcome outcome, string? error) => run.Record(
            new AgentCallReport(AgentCallReport.AggregatorLayer, agent, outcome, _usage, Stopwatch.GetElapsedTime(_started), error));
    }
}
