using MoaGateway.Moa;

namespace MoaGateway.Tests.Unit;

/// <summary>The panel's one ordered stream of events: concurrent proposer calls write, a reader that may be slow takes.</summary>
public sealed class PanelTests
{
    private static readonly AgentSpec Agent = new("p", "m");

    private static List<PanelEvent> ReadAll(Panel panel)
    {
        var events = new List<PanelEvent>();
        while (panel.Events!.TryRead(out var next))
        {
            events.Add(next);
        }

        return events;
    }

    [Fact]
    public void Text_that_arrives_while_the_last_delta_is_unread_joins_it_so_a_slow_reader_gets_every_character_in_one_event()
    {
        var panel = new Panel(live: true);
        var feed = panel.Feed(new CallPosition(1, 0), Agent)!;

        for (var i = 0; i < 1000; i++)
        {
            feed.Append($"t{i} ");
        }

        var delta = Assert.IsType<ProposalDelta>(Assert.Single(ReadAll(panel)));
        Assert.Equal(string.Concat(Enumerable.Range(0, 1000).Select(i => $"t{i} ")), delta.TakeText());
    }

    [Fact]
    public void Text_after_the_reader_took_a_delta_goes_into_a_new_one()
    {
        var panel = new Panel(live: true);
        var feed = panel.Feed(new CallPosition(1, 0), Agent)!;

        feed.Append("one");
        var first = Assert.IsType<ProposalDelta>(Assert.Single(ReadAll(panel)));
        Assert.Equal("one", first.TakeText());
        feed.Append(" two");
        feed.Append(" three");

        var second = Assert.IsType<ProposalDelta>(Assert.Single(ReadAll(panel)));
        Assert.Equal(" two three", second.TakeText());
    }

    [Fact]
    public void Deltas_of_different_calls_never_join()
    {
        var panel = new Panel(live: true);
        var one = panel.Feed(new CallPosition(1, 0), Agent)!;
        var two = panel.Feed(new CallPosition(1, 1), Agent)!;

        one.Append("a");
        two.Append("b");
        one.Append("c");

        var deltas = ReadAll(panel).Cast<ProposalDelta>().ToList();
        Assert.Equal([(0, "ac"), (1, "b")], deltas.Select(delta => (delta.Position.Agent, delta.TakeText())));
    }

    [Fact]
    public void A_retry_after_text_is_an_event_and_the_new_attempts_text_never_joins_the_old()
    {
        var panel = new Panel(live: true);
        var progress = new CallProgress { Feed = panel.Feed(new CallPosition(1, 0), Agent) };

        progress.StartAttempt();
        progress.Feed!.Append("partial");
        progress.StartAttempt();
        progress.Feed.Append("whole");

        var events = ReadAll(panel);
        Assert.Equal("partial", Assert.IsType<ProposalDelta>(events[0]).TakeText());
        Assert.Equal(2, Assert.IsType<ProposalRetry>(events[1]).Attempt);
        Assert.Equal("whole", Assert.IsType<ProposalDelta>(events[2]).TakeText());
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public void A_retry_before_any_text_is_no_event()
    {
        var panel = new Panel(live: true);
        var progress = new CallProgress { Feed = panel.Feed(new CallPosition(1, 0), Agent) };

        progress.StartAttempt();
        progress.StartAttempt();
        progress.Feed!.Append("whole");

        Assert.IsType<ProposalDelta>(Assert.Single(ReadAll(panel)));
    }

    [Fact]
    public async Task Concurrent_calls_lose_no_text_whatever_the_readers_pace()
    {
        var panel = new Panel(live: true);
        var feeds = Enumerable.Range(0, 8).Select(agent => panel.Feed(new CallPosition(1, agent), Agent)!).ToList();
        var texts = new Dictionary<int, string>();
        var reader = Task.Run(async () =>
        {
            while (await panel.Events!.WaitToReadAsync())
            {
                while (panel.Events.TryRead(out var next))
                {
                    var delta = (ProposalDelta)next;
                    texts[delta.Position.Agent] = texts.GetValueOrDefault(delta.Position.Agent, "") + delta.TakeText();
                }

                await Task.Delay(1);
            }
        });

        await Task.WhenAll(feeds.Select(feed => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                feed.Append($"{i},");
            }
        })));
        panel.Complete();
        await reader;

        var expected = string.Concat(Enumerable.Range(0, 2000).Select(i => $"{i},"));
        Assert.All(Enumerable.Range(0, 8), agent => Assert.Equal(expected, texts[agent]));
    }

    [Fact]
    public void A_collected_panel_gives_no_feed_and_lists_the_ends_in_the_order_of_the_mixture()
    {
        var panel = new Panel(live: false);
        static AgentCallReport Report(int layer, int agent, int? sample) =>
            new(new CallPosition(layer, agent, sample), Agent, CallOutcome.Answered, null, TimeSpan.FromMilliseconds(1));

        Assert.Null(panel.Feed(new CallPosition(1, 0), Agent));
        panel.Ended(Report(2, 0, null), "c");
        panel.Ended(Report(1, 1, 1), "b1");
        panel.Ended(Report(1, 1, 0), "b0");
        panel.Ended(Report(1, 0, null), "a");

        Assert.Null(panel.Events);
        Assert.Equal(["a", "b0", "b1", "c"], panel.Proposals.Select(done => done.Content));
    }
}
