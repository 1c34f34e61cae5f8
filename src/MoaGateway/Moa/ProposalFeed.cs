using System.Threading.Channels;

namespace MoaGateway.Moa;

/// <summary>
/// Where one proposer call writes its text as it arrives, when the client watches the panel live. Text that arrives
/// while the call's previous delta is still waiting for the reader joins that delta instead of queueing behind it, so
/// a slow client never holds the proposer up and never loses text: the panel queues at most one delta per call.
/// </summary>
public sealed class ProposalFeed
{
    private readonly Lock _gate = new();
    private readonly ChannelWriter<PanelEvent> _events;
    private ProposalDelta? _unread;
    private bool _sentThisAttempt;

    internal ProposalFeed(ChannelWriter<PanelEvent> events, CallPosition position, AgentSpec agent)
    {
        _events = events;
        Position = position;
        Agent = agent;
    }

    public CallPosition Position { get; }

    public AgentSpec Agent { get; }

    /// <summary>Text the call received; empty text is no event.</summary>
    public void Append(string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        lock (_gate)
        {
            _sentThisAttempt = true;
            if (_unread is not null)
            {
                _unread.Join(text);
                return;
            }

            _unread = new ProposalDelta(this, text);
            _events.TryWrite(_unread);
        }
    }

    /// <summary>Attempt <paramref name="attempt"/> of the call starts; if an earlier one sent text, the reader learns that it is void.</summary>
    internal void Retry(int attempt)
    {
        lock (_gate)
        {
            if (!_sentThisAttempt)
            {
                return;
            }

            _sentThisAttempt = false;
            _unread = null;
            _events.TryWrite(new ProposalRetry(Position, Agent, attempt));
        }
    }

    internal string Take(ProposalDelta delta)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_unread, delta))
            {
                _unread = null;
            }

            return delta.Text();
        }
    }
}
