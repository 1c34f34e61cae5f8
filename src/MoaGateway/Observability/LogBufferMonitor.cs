using System.Diagnostics.Metrics;
using MoaGateway.Moa;
using Serilog.Sinks.Async;

namespace MoaGateway.Observability;

/// <summary>
/// Counts the log events the asynchronous sink dropped because its buffer was full (<c>moa.log.events.dropped</c>),
/// so that lost lines show on a dashboard rather than nowhere.
/// </summary>
internal sealed class LogBufferMonitor : IAsyncLogEventSinkMonitor
{
    private IAsyncLogEventSinkInspector? _inspector;

    public LogBufferMonitor(IMeterFactory meters) => meters.Create(MoaTelemetry.Name).CreateObservableCounter(
        "moa.log.events.dropped", () => _inspector?.DroppedMessagesCount ?? 0, "{event}", "Log events dropped because the log buffer was full.");

    public void StartMonitoring(IAsyncLogEventSinkInspector inspector) => _inspector = inspector;

    public void StopMonitoring(IAsyncLogEventSinkInspector inspector) => _inspector = null;
}
