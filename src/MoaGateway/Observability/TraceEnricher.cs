using System.Diagnostics;
using Serilog.Core;
using Serilog.Events;

namespace MoaGateway.Observability;

/// <summary>Adds the current trace and span ids to every log event, so logs and traces of one request join up.</summary>
internal sealed class TraceEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (Activity.Current is { } activity)
        {
            logEvent.AddPropertyIfAbsent(new LogEventProperty("TraceId", new ScalarValue(activity.TraceId.ToHexString())));
            logEvent.AddPropertyIfAbsent(new LogEventProperty("SpanId", new ScalarValue(activity.SpanId.ToHexString())));
        }
    }
}
