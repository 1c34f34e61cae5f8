using System.Diagnostics;

namespace MoaGateway.Moa;

public readonly record struct TokenCounts(int Prompt, int Completion)
{
    public int Total => Prompt + Completion;

    public static TokenCounts operator +(TokenCounts left, TokenCounts right) =>
        new(left.Prompt + right.Prompt, left.Completion + right.Completion);
}

public enum CallOutcome
{
    Answered,
    Failed,
    TimedOut,

    /// <summary>Cancelled as a straggler once its layer's quorum had answered.</summary>
    Cut,

    /// <summary>Cancelled because the request ended first (the client went away, or its deadline passed).</summary>
    Cancelled,

    /// <summary>Answered with nothing usable: no text, or only whitespace (a call cut by its token limit before any text, too).</summary>
    Empty,
}

/// <summary>Filled in by the invoker while a call runs, so a report can say how the call went even when it fails.</summary>
public sealed class CallProgress
{
    private int _attempts;

    public int Attempts => Volatile.Read(ref _attempts);

    public TimeSpan? TimeToFirstToken { get; set; }

    /// <summary>
    /// For a proposer whose panel is watched live: the invoker writes the call's text here as it arrives. Null
    /// otherwise, and then nothing is written anywhere.
    /// </summary>
    public ProposalFeed? Feed { get; init; }

    public void StartAttempt()
    {
        var attempt = Interlocked.Increment(ref _attempts);
        if (attempt > 1)
        {
            Feed?.Retry(attempt);
        }
    }
}

/// <summary>
/// Where one call sits in the mixture: its <paramref name="Layer"/> (1-based; 0 for the aggregator), the index of its
/// <paramref name="Agent"/> in that layer (for the aggregator, 0, and its fallbacks from 1 in the order tried), and,
/// for an agent with samples, the index of its <paramref name="Sample"/>.
/// </summary>
public readonly record struct CallPosition(int Layer, int Agent, int? Sample = null)
{
    public const int AggregatorLayer = 0;

    public bool IsAggregator => Layer == AggregatorLayer;
}

/// <summary>What one upstream call of a MoA request did, and where in the mixture it sits.</summary>
public sealed record AgentCallReport(
    CallPosition Position,
    AgentSpec Agent,
    CallOutcome Outcome,
    TokenCounts? Usage,
    TimeSpan Duration,
    string? Error = null,
    int Attempts = 1,
    TimeSpan? TimeToFirstToken = null,
    string? ErrorType = null)
{
    public int Layer => Position.Layer;

    public bool IsAggregator => Position.IsAggregator;
}

/// <summary>
/// The account of one MoA request: its current stage and every upstream call it made, so the response can
/// report the true cost of the mixture, not just the aggregator's share.
/// </summary>
public sealed class MoaRun(VirtualModel model, Panel? panel = null)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Lock _gate = new();
    private readonly List<AgentCallReport> _calls = new(model.UpstreamCallCount);
    private volatile string _stage = "starting";

    public VirtualModel Model => model;

    /// <summary>What the proposers said, when the client asked to see it; null otherwise.</summary>
    public Panel? Panel => panel;

    /// <summary>From the start of the run to the aggregator's first delta; null until it arrives.</summary>
    public TimeSpan? TimeToFirstToken { get; private set; }

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Why the run failed, once it has.</summary>
    public string? Failure { get; private set; }

    /// <summary>A short description of what the request is waiting for, such as "proposer layer 1 of 2".</summary>
    public string Stage
    {
        get => _stage;
        internal set => _stage = value;
    }

    public IReadOnlyList<AgentCallReport> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Tokens of every call that reported usage: all proposers of all layers plus the aggregator.</summary>
    public TokenCounts TotalUsage
    {
        get
        {
            var total = default(TokenCounts);
            foreach (var call in Calls)
            {
                total += call.Usage ?? default;
            }

            return total;
        }
    }

    internal void AggregatorStarted() => TimeToFirstToken ??= Stopwatch.GetElapsedTime(_started);

    internal ProviderException Fail(ProviderException failure)
    {
        Failure ??= failure.Message;
        return failure;
    }

    internal void Record(AgentCallReport report)
    {
        lock (_gate)
        {
            _calls.Add(report);
        }
    }
}
