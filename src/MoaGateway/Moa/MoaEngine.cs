using System.Diagnostics;
using System.Runtime.CompilerServices;
using OpenAI.Chat;

namespace MoaGateway.Moa;

/// <summary>
/// Runs a virtual model: each proposer layer concurrently, every later layer seeing only the previous layer's
/// answers through the Aggregate-and-Synthesize prompt, then the aggregator, whose deltas are yielded as they arrive.
/// </summary>
public sealed partial class MoaEngine(IAgentInvoker invoker, ILogger<MoaEngine> logger)
{
    /// <param name="model">The virtual model to run.</param>
    /// <param name="messages">The client's conversation, given unchanged to layer 1.</param>
    /// <param name="aggregatorOptions">
    /// The client's request parameters, which apply to the aggregator only (samples derive their seeds from its
    /// <c>seed</c>): a fresh copy for each aggregator tried, since each fills in its own defaults.
    /// </param>
    /// <param name="streamed">
    /// The aggregator's deltas reach the client as they arrive, so it is retried, and falls back, only before its first
    /// delta. Otherwise nothing of its answer leaves before the end, and it is retried and falls back at any point.
    /// </param>
    /// <param name="run">Receives the stage and a report of every upstream call, including failed ones.</param>
    /// <param name="cancellationToken">Cancels every in-flight upstream call.</param>
    public async IAsyncEnumerable<ChatDelta> RunAsync(
        VirtualModel model,
        IReadOnlyList<ChatMessage> messages,
        Func<ChatCompletionOptions> aggregatorOptions,
        bool streamed,
        MoaRun run,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Current until the first yield, so the layer and aggregator spans below become its children.
        using var activity = MoaTelemetry.StartRequest(model);
        var completed = false;
        try
        {
            var seed = FirstSampleSeed(model, aggregatorOptions);
            IReadOnlyList<string>? references = null;
            for (var layer = 0; layer < model.Layers.Count; layer++)
            {
                run.Stage = $"proposer layer {layer + 1} of {model.Layers.Count}";
                var layerMessages = references is null ? messages : AggregatePrompt.Inject(messages, model.AggregatePrompt, references);
                references = await RunLayerAsync(layer + 1, model.Layers[layer], layerMessages, seed, run, cancellationToken);
            }

            run.Panel?.Complete();
            run.Stage = "aggregator";
            // A model without layers is an alias: its aggregator answers the client's conversation as sent.
            var aggregatorMessages = references is null ? messages : AggregatePrompt.Inject(messages, model.AggregatePrompt, references);
            await using var aggregator = await OpenAggregatorAsync(model, aggregatorMessages, aggregatorOptions, streamed, run, cancellationToken);
            run.AggregatorStarted();
            do
            {
                yield return aggregator.Current;
            }
            while (await aggregator.MoveNextAsync());

            completed = true;
        }
        finally
        {
            run.Panel?.Complete();
            MoaTelemetry.CompleteRequest(activity, run, completed);
        }
    }

    /// <summary>
    /// The seed of a layer's first call; each call after it in the layer gets the next, so the samples of one agent
    /// (and of two agents on the same model) differ. From the client's <c>seed</c> when it sent one, so a request can be
    /// repeated; otherwise random.
    /// </summary>
    private static long FirstSampleSeed(VirtualModel model, Func<ChatCompletionOptions> clientOptions)
    {
        if (!model.Layers.Any(layer => layer.Agents.Any(agent => agent.Samples is not null)))
        {
            return 0;
        }

#pragma warning disable OPENAI001 // The SDK marks seed as evaluation-only; clients send it today.
        return clientOptions().Seed ?? Random.Shared.Next(0, int.MaxValue / 2);
#pragma warning restore OPENAI001
    }

    private async Task<IReadOnlyList<string>> RunLayerAsync(
        int layer, LayerSpec spec, IReadOnlyList<ChatMessage> messages, long seed, MoaRun run, CancellationToken cancellationToken)
    {
        using var activity = MoaTelemetry.StartLayer(layer, spec);
        using var stragglers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var plan = CallsOf(layer, spec, seed);
        var answers = new string?[plan.Count];
        var calls = new Task<AgentCallReport>[plan.Count];
        for (var i = 0; i < calls.Length; i++)
        {
            var index = i;
            calls[i] = ProposeAsync(plan[i].Position, plan[i].Agent, messages, text => answers[index] = text, run.Panel, stragglers.Token, cancellationToken);
        }

        if (spec is { Quorum: { } quorum, StragglerGrace: { } grace } && quorum < calls.Length)
        {
            await CutStragglersAfterQuorumAsync(calls, quorum, grace, stragglers);
        }

        var reports = await Task.WhenAll(calls);
        foreach (var report in reports)
        {
            Record(run, report);
        }

        // As in the reference implementation, proposers that failed are left out of the references; so are empty answers.
        var references = answers.OfType<string>().Select(answer => AggregatePrompt.Cap(answer, run.Model.MaxReferenceCharacters)).ToArray();
        activity?.SetTag("moa.layer.answered", references.Length);
        run.Panel?.LayerEnded(layer, references.Length, reports.Length - references.Length);
        if (references.Length < spec.MinAgents)
        {
            var failure = reports.All(report => report.Outcome is CallOutcome.Answered or CallOutcome.TimedOut or CallOutcome.Cut)
                ? ProviderFailure.Timeout
                : ProviderFailure.Error;
            var details = string.Join("; ", reports.Where(report => report.Error is not null).Select(report => report.Error));
            var tooFew = new ProviderException(
                $"Proposer layer {layer} got {references.Length} answer(s), fewer than the {spec.MinAgents} it needs ({details}).", failure)
            {
                ErrorType = "too_few_answers",
            };
            activity?.SetStatus(ActivityStatusCode.Error, tooFew.Message);
            throw run.Fail(tooFew);
        }

        return references;
    }

    /// <summary>A layer's calls in order: one per agent, or one per sample of an agent with samples, each sample with a seed of its own.</summary>
    private static List<(CallPosition Position, AgentSpec Agent)> CallsOf(int layer, LayerSpec spec, long firstSeed)
    {
        var calls = new List<(CallPosition, AgentSpec)>(spec.Calls);
        for (var agent = 0; agent < spec.Agents.Count; agent++)
        {
            var configured = spec.Agents[agent];
            if (configured.Samples is not { } samples)
            {
                calls.Add((new CallPosition(layer, agent), configured));
                continue;
            }

            for (var sample = 0; sample < samples; sample++)
            {
                calls.Add((new CallPosition(layer, agent, sample), configured with { Seed = unchecked(firstSeed + calls.Count) }));
            }
        }

        return calls;
    }

    /// <summary>Once <paramref name="quorum"/> agents answered, gives the rest <paramref name="grace"/> and then cancels them.</summary>
    private static async Task CutStragglersAfterQuorumAsync(
        Task<AgentCallReport>[] calls, int quorum, TimeSpan grace, CancellationTokenSource stragglers)
    {
        var pending = new List<Task<AgentCallReport>>(calls);
        var answered = 0;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            if (done.IsCompletedSuccessfully && done.Result.Outcome == CallOutcome.Answered && ++answered == quorum && pending.Count > 0)
            {
                stragglers.CancelAfter(grace);
                return;
            }
        }
    }

    private async Task<AgentCallReport> ProposeAsync(
        CallPosition position, AgentSpec agent, IReadOnlyList<ChatMessage> messages, Action<string> answered, Panel? panel,
        CancellationToken stragglers, CancellationToken request)
    {
        using var activity = MoaTelemetry.StartAgentCall(agent, position);
        var started = Stopwatch.GetTimestamp();
        var progress = new CallProgress { Feed = panel?.Feed(position, agent) };
        var name = position.Sample is { } sample ? $"{agent} (sample {sample})" : agent.ToString();
        AgentCallReport Report(CallOutcome outcome, string? error, string? errorType, string? finishReason, string? content = null)
        {
            var report = new AgentCallReport(
                position, agent, outcome, progress.Usage, Stopwatch.GetElapsedTime(started), error, Math.Max(progress.Attempts, 1), progress.TimeToFirstToken,
                errorType, progress.UsageUnreported);
            MoaTelemetry.CompleteAgentCall(activity, report, finishReason);
            panel?.Ended(report, content);
            return report;
        }

        try
        {
            var answer = await invoker.CompleteAsync(agent, messages, progress, stragglers);
            if (string.IsNullOrWhiteSpace(answer.Text))
            {
                // Not an answer: it would be a blank reference, and it must not make up a quorum.
                var why = answer.FinishReason == "length" ? "reached its token limit before any text" : "answered with no text";
                return Report(CallOutcome.Empty, $"{name} {why}.", "empty", answer.FinishReason, answer.Text);
            }

            answered(answer.Text);
            return Report(CallOutcome.Answered, null, null, answer.FinishReason, answer.Text);
        }
        catch (ProviderException exception)
        {
            return Report(OutcomeOf(exception), exception.Message, exception.ErrorType, null);
        }
        catch (OperationCanceledException) when (stragglers.IsCancellationRequested && !request.IsCancellationRequested)
        {
            return Report(CallOutcome.Cut, $"{name} was cut as a straggler after its layer's quorum answered.", "straggler", null);
        }
    }

    /// <summary>The first aggregator, or fallback, whose stream yields a first delta; the stream is positioned on that delta.</summary>
    private async Task<AggregatorCall> OpenAggregatorAsync(
        VirtualModel model,
        IReadOnlyList<ChatMessage> messages,
        Func<ChatCompletionOptions> options,
        bool streamed,
        MoaRun run,
        CancellationToken cancellationToken)
    {
        var failures = new List<ProviderException>();
        for (var index = 0; index < model.Aggregators.Count; index++)
        {
            var agent = model.Aggregators[index];
            var call = new AggregatorCall(this, new CallPosition(CallPosition.AggregatorLayer, index), agent, run);
            call.Start(
                streamed
                    ? invoker.StreamAsync(agent, messages, options(), call.Progress, cancellationToken)
                    : Replay(invoker.CollectAsync(agent, messages, options(), call.Progress, cancellationToken)),
                cancellationToken);
            try
            {
                if (await call.MoveNextAsync())
                {
                    return call;
                }
            }
            catch (ProviderException exception)
            {
                failures.Add(exception);
                await call.DisposeAsync();
            }
        }

        throw run.Fail(failures.Count == 1
            ? failures[0]
            : new ProviderException(
                $"Every aggregator failed ({string.Join("; ", failures.Select(failure => failure.Message))}).",
                failures.TrueForAll(failure => failure.Failure == ProviderFailure.Timeout) ? ProviderFailure.Timeout : ProviderFailure.Error));
    }

    /// <summary>A whole answer as the stream of its deltas; it fails, if at all, before the first one.</summary>
    private static async IAsyncEnumerable<ChatDelta> Replay(Task<IReadOnlyList<ChatDelta>> answer)
    {
        foreach (var delta in await answer)
        {
            yield return delta;
        }
    }

    private static CallOutcome OutcomeOf(ProviderException exception) =>
        exception.Failure == ProviderFailure.Timeout ? CallOutcome.TimedOut : CallOutcome.Failed;

    private void Record(MoaRun run, AgentCallReport report)
    {
        run.Record(report);
        MoaTelemetry.RecordAgentCall(run.Model.Id, report);
        LogAgentCall(
            logger,
            run.Model.Id,
            report.Position switch
            {
                { IsAggregator: true } => "aggregator",
                { Sample: { } sample } => $"layer {report.Layer} sample {sample}",
                _ => $"layer {report.Layer}",
            },
            report.Agent.Provider,
            report.Agent.Model,
            report.Outcome,
            report.Duration.TotalMilliseconds,
            report.TimeToFirstToken?.TotalMilliseconds,
            report.Attempts,
            report.Usage?.Prompt,
            report.Usage?.Completion,
            report.Error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message =
        "Agent call {VirtualModel} {Role} {Provider}/{Model}: {Outcome} in {DurationMs:0.0} ms (first token {TimeToFirstTokenMs:0.0} ms, attempts {Attempts}, tokens {PromptTokens}+{CompletionTokens}) {Error}")]
    private static partial void LogAgentCall(
        ILogger logger, string virtualModel, string role, string provider, string model, CallOutcome outcome, double durationMs,
        double? timeToFirstTokenMs, int attempts, int? promptTokens, int? completionTokens, string? error);

    /// <summary>One aggregator's stream; records its report exactly once, however the stream ends.</summary>
    private sealed class AggregatorCall(MoaEngine engine, CallPosition position, AgentSpec agent, MoaRun run) : IAsyncDisposable
    {
        private readonly long _started = Stopwatch.GetTimestamp();

        // Started here, within the caller's flow, so the upstream HTTP span of the first read nests under it.
        private readonly Activity? _activity = MoaTelemetry.StartAgentCall(agent, position);
        private IAsyncEnumerator<ChatDelta>? _deltas;
        private CancellationToken _cancellationToken;
        private string? _finishReason;
        private bool _recorded;

        public CallProgress Progress { get; } = new();

        public ChatDelta Current => _deltas!.Current;

        public void Start(IAsyncEnumerable<ChatDelta> deltas, CancellationToken cancellationToken)
        {
            _deltas = deltas.GetAsyncEnumerator(cancellationToken);
            _cancellationToken = cancellationToken;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<bool> MoveNextAsync()
        {
            bool hasNext;
            try
            {
                hasNext = await _deltas!.MoveNextAsync();
            }
            catch (ProviderException exception)
            {
                Record(OutcomeOf(exception), exception.Message, exception.ErrorType);
                run.Fail(exception);
                throw;
            }
            catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
            {
                Record(CallOutcome.Cancelled, null, null);
                throw;
            }

            if (hasNext)
            {
                _finishReason = _deltas.Current.FinishReason ?? _finishReason;
                return true;
            }

            Record(CallOutcome.Answered, null, null);
            return false;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_recorded)
            {
                // Disposed mid-stream: the consumer stopped reading (the client went away).
                Record(CallOutcome.Cancelled, null, null);
            }

            if (_deltas is not null)
            {
                await _deltas.DisposeAsync();
            }

            _activity?.Dispose();
        }

        private void Record(CallOutcome outcome, string? error, string? errorType)
        {
            if (_recorded)
            {
                return;
            }

            _recorded = true;
            var report = new AgentCallReport(
                position, agent, outcome, Progress.Usage, Stopwatch.GetElapsedTime(_started), error,
                Math.Max(Progress.Attempts, 1), Progress.TimeToFirstToken, errorType, Progress.UsageUnreported);
            MoaTelemetry.CompleteAgentCall(_activity, report, _finishReason);
            _activity?.Dispose();
            engine.Record(run, report);
        }
    }
}
