using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Parsing;

namespace MoaGateway.Observability;

/// <summary>
/// Hands log events to the real sinks on a thread of its own. Upstream reads complete on the socket engine's threads
/// (see MoaGateway.csproj), so a log line written there must never wait on a slow stdout reader: lines queue instead,
/// and when the queue is full they are dropped, counted, and the count is reported once there is room again.
/// </summary>
internal sealed class BackgroundLogSink : ILogEventSink, IDisposable
{
    private static readonly MessageTemplate DroppedTemplate =
        new MessageTemplateParser().Parse("{DroppedLogEvents} log events were dropped: the log output could not keep up");

    private readonly Logger _sinks;
    private readonly BlockingCollection<LogEvent> _queue;
    private readonly Thread _writer;
    private long _dropped;

    public BackgroundLogSink(Logger sinks, int capacity)
    {
        _sinks = sinks;
        _queue = new BlockingCollection<LogEvent>(capacity);
        _writer = new Thread(Write) { IsBackground = true, Name = "Log writer" };
        _writer.Start();
    }

    public void Emit(LogEvent logEvent)
    {
        if (!_queue.TryAdd(logEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Writes what is queued, then disposes the sinks; called once the host has stopped.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();

        // A writer stuck in a sink past the wait still reads the queue, so the queue is disposed only once it is done.
        if (_writer.Join(TimeSpan.FromSeconds(5)))
        {
            _queue.Dispose();
        }

        _sinks.Dispose();
    }

    private void Write()
    {
        foreach (var logEvent in _queue.GetConsumingEnumerable())
        {
            if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
            {
                _sinks.Write(new LogEvent(
                    DateTimeOffset.Now, LogEventLevel.Warning, null, DroppedTemplate,
                    [new LogEventProperty("DroppedLogEvents", new ScalarValue(dropped))]));
            }

            try
            {
                _sinks.Write(logEvent);
            }
            catch (Exception exception)
            {
                SelfLog.WriteLine("Writing a log event failed: {0}", exception);
            }
        }
    }
}
