using System.Text;

namespace MoaGateway.Moa;

/// <summary>One event of a run's panel: a proposer call's text, retry or end, or a layer's end.</summary>
public abstract class PanelEvent;

/// <summary>
/// Text of one proposer call, as it arrived. While the reader has not taken it, later text of the same call joins it
/// (<see cref="ProposalFeed"/>), so a call's text is the concatenation of its deltas since its last retry.
/// </summary>
public sealed class ProposalDelta : PanelEvent
{
    private readonly ProposalFeed _feed;
    private readonly string _first;
    private StringBuilder? _joined;

    internal ProposalDelta(ProposalFeed feed, string text)
    {
        _feed = feed;
        _first = text;
    }

    public CallPosition Position => _feed.Position;

    public AgentSpec Agent => _feed.Agent;

    /// <summary>The text so far; from then on, the call's new text goes into a delta of its own.</summary>
    public string TakeText() => _feed.Take(this);

    /// <summary>Called under the feed's lock.</summary>
    internal void Join(string text) => (_joined ??= new StringBuilder(_first)).Append(text);

    /// <summary>Called under the feed's lock.</summary>
    internal string Text() => _joined?.ToString() ?? _first;
}

/// <summary>A proposer call is tried again from the start after it sent text: that text is void, and attempt <see cref="Attempt"/> begins.</summary>
public sealed class ProposalRetry(CallPosition position, AgentSpec agent, int attempt) : PanelEvent
{
    public CallPosition Position { get; } = position;

    public AgentSpec Agent { get; } = agent;

    public int Attempt { get; } = attempt;
}

/// <summary>A proposer call ended; <see cref="Content"/> is its answer's text when it answered (or answered empty), else null.</summary>
public sealed class ProposalDone(AgentCallReport report, string? content) : PanelEvent
{
    public AgentCallReport Report { get; } = report;

    public string? Content { get; } = content;
}

/// <summary>
/// Every call of proposer layer <see cref="Layer"/> ended: <see cref="Answered"/> with a usable answer (a reference
/// for what comes next), <see cref="Failed"/> without one (failed, timed out, cut as a straggler, or empty).
/// </summary>
public sealed class LayerDone(int layer, int answered, int failed) : PanelEvent
{
    public int Layer { get; } = layer;

    public int Answered { get; } = answered;

    public int Failed { get; } = failed;
}
