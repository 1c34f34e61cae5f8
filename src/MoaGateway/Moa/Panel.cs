using System.Threading.Channels;

namespace MoaGateway.Moa;

/// <summary>
/// What the proposers of one run said, for a client that asked to see it. Collected, each call's end with its answer
/// (<see cref="Proposals"/>); live, one ordered stream of events (<see cref="Events"/>) that the concurrent proposer
/// calls write into and the client's connection reads from: each call's text as it arrives, its retries, its end, and
/// each layer's end, all of them before the aggregator starts.
/// </summary>
/// <remarks>
/// Writers never wait for the reader. The stream is bounded by the topology, not by the pace of the text: text that
/// arrives while its call's last delta is unread joins that delta (<see cref="ProposalFeed"/>), so at any time the
/// stream holds at most one delta per call, plus each call's retries and end and each layer's end. A slow client gets
/// fewer, longer deltas, and every character.
/// </remarks>
public sealed class Panel
{
    private readonly Channel<PanelEvent>? _live;
    private readonly List<ProposalDone> _ended = [];

    /// <param name="live">The events as they happen, for a streamed answer; otherwise only the calls' ends, collected.</param>
    public Panel(bool live)
    {
        _live = live ? Channel.CreateUnbounded<PanelEvent>() : null;
    }

    /// <summary>The live events, in the order they happened; completed once the proposer layers are over. Null unless live.</summary>
    public ChannelReader<PanelEvent>? Events => _live?.Reader;

    /// <summary>Collected (not live): every proposer call that ended, in the order of the mixture: layer, agent, sample.</summary>
    public IReadOnlyList<ProposalDone> Proposals
    {
        get
        {
            lock (_ended)
            {
                return [.. _ended.OrderBy(done => done.Report.Layer).ThenBy(done => done.Report.Position.Agent).ThenBy(done => done.Report.Position.Sample)];
            }
        }
    }

    /// <summary>Where a proposer call writes its text as it arrives; null unless live, so the calls of a collected panel pay nothing.</summary>
    internal ProposalFeed? Feed(CallPosition position, AgentSpec agent) => _live is null ? null : new ProposalFeed(_live.Writer, position, agent);

    internal void Ended(AgentCallReport report, string? content)
    {
        var done = new ProposalDone(report, content);
        if (_live is not null)
        {
            _live.Writer.TryWrite(done);
            return;
        }

        lock (_ended)
        {
            _ended.Add(done);
        }
    }

    internal void LayerEnded(int layer, int answered, int failed) => _live?.Writer.TryWrite(new LayerDone(layer, answered, failed));

    /// <summary>No more events: the proposer layers are over, or the run ended.</summary>
    internal void Complete() => _live?.Writer.TryComplete();
}
