using System.Diagnostics;

namespace MoaGateway.Moa;

/// <summary>
/// Tokens as providers count them. <paramref name="CachedPrompt"/> are the prompt tokens served from the provider's prompt
/// cache, <paramref name="Reasoning"/> the completion tokens spent on reasoning: parts of <paramref name="Prompt"/> and
/// <paramref name="Completion"/>, not additions to them.
/// </summary>
public readonly record struct TokenCounts(int Prompt, int Completion, int CachedPrompt = 0, int Reasoning = 0)
{
    public int Total => Prompt + Completion;

    public static TokenCounts operator +(TokenCounts left, TokenCounts right) => new(
        left.Prompt + right.Prompt, left.Completion + right.Completion, left.CachedPrompt + right.CachedPrompt, left.Reasoning + right.Reasoning);
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

/// <summary>
/// Filled in by the invoker while a call runs, so a report can say how the call went even when it fails, and what the
/// provider billed for it: every attempt's usage, failed attempts included.
/// </summary>
public sealed class CallProgress
{
    private int _attempts;
    private TokenCounts? _earlierAttempts;
    private TokenCounts? _attemptUsage;
    private bool _attemptStreamed;
    private bool _earlierUnreported;

    public int Attempts => Volatile.Read(ref _attempts);

    public TimeSpan? TimeToFirstToken { get; set; }

    /// <summary>The usage every attempt reported, summed; null when none reported any.</summary>
    public TokenCounts? Usage => _earlierAttempts is { } earlier ? earlier + (_attemptUsage ?? default) : _attemptUsage;

    /// <summary>
    /// True when an attempt streamed something but never reported its usage (it was cut, cancelled or broken), so part
    /// of what the provider billed is unknown. An attempt refused before its first event is taken to have cost nothing.
    /// </summary>
    public bool UsageUnreported => _earlierUnreported || AttemptUnreported;

    private bool AttemptUnreported => _attemptStreamed && _attemptUsage is null;

    /// <summary>
    /// For a proposer whose panel is watched live: the invoker writes the call's text here as it arrives. Null
    /// otherwise, and then nothing is written anywhere.
    /// </summary>
    public ProposalFeed? Feed { get; init; }

    public void StartAttempt()
    {
        if (_attemptUsage is { } usage)
        {
            _earlierAttempts = (_earlierAttempts ?? default) + usage;
        }

        _earlierUnreported |= AttemptUnreported;
        _attemptUsage = null;
        _attemptStreamed = false;
        var attempt = Interlocked.Increment(ref _attempts);
        if (attempt > 1)
        {
            Feed?.Retry(attempt);
        }
    }

    /// <summary>Every event the current attempt read. A provider that reports usage more than once in a stream reports running totals, so the latest counts.</summary>
    public void Received(ChatDelta delta)
    {
        _attemptStreamed = true;
        if (delta.Usage is { } usage)
        {
            _attemptUsage = usage;
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

/// <summary>
/// What one upstream call of a MoA request did, and where in the mixture it sits. <see cref="Usage"/> sums every
/// attempt's, failed ones included; <see cref="UsageUnreported"/> says whether an attempt's never came.
/// </summary>
public sealed record AgentCallReport(
    CallPosition Position,
    AgentSpec Agent,
    CallOutcome Outcome,
    TokenCounts? Usage,
    TimeSpan Duration,
    string? Error = null,
    int Attempts = 1,
    TimeSpan? TimeToFirstToken = null,
    string? ErrorType = null,
    bool UsageUnreported = false)
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
