using MoaGateway.Observability;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace MoaGateway.Tests.Unit;

public sealed class BackgroundLogSinkTests
{
    [Fact]
    public void Events_reach_the_sinks_in_order_and_all_are_written_by_dispose()
    {
        var sink = new RecordingSink();
        var background = new BackgroundLogSink(LoggerWith(sink), capacity: 100);

        for (var i = 0; i < 50; i++)
        {
            background.Emit(Event($"line {i}"));
        }

        background.Dispose();

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"line {i}"), sink.Messages);
    }

    [Fact]
    public async Task A_stuck_sink_never_blocks_the_caller_and_the_dropped_events_are_counted_once_it_recovers()
    {
        using var release = new ManualResetEventSlim();
        var sink = new RecordingSink(blockUntil: release);
        var background = new BackgroundLogSink(LoggerWith(sink), capacity: 10);

        // The writer takes the first event and sticks in the sink; ten more fill the queue and the rest are dropped.
        background.Emit(Event("first"));
        Assert.True(SpinWait.SpinUntil(() => sink.Entered, TimeSpan.FromSeconds(30)), "the writer never reached the sink");
        var emitting = Task.Run(() =>
        {
            for (var i = 0; i < 25; i++)
            {
                background.Emit(Event($"queued {i}"));
            }
        });
        // Times out if Emit waits for the stuck sink.
        await emitting.WaitAsync(TimeSpan.FromSeconds(30));

        release.Set();
        background.Dispose();

        Assert.Equal(["first", .. Enumerable.Range(0, 10).Select(i => $"queued {i}")], sink.Messages.Where(m => !m.Contains("dropped", StringComparison.Ordinal)));
        Assert.Contains("15 log events were dropped: the log output could not keep up", sink.Messages);
    }

    private static Logger LoggerWith(ILogEventSink sink) => new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();

    private static LogEvent Event(string text) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse(text), []);

    private sealed class RecordingSink(ManualResetEventSlim? blockUntil = null) : ILogEventSink
    {
        private readonly List<string> _messages = [];
        private volatile bool _entered;

        public bool Entered => _entered;

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            _entered = true;
            blockUntil?.Wait();
            lock (_messages)
            {
                _messages.Add(logEvent.RenderMessage());
            }
        }
    }
}
