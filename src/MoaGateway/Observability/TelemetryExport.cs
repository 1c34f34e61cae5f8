using System.Diagnostics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MoaGateway.Observability;

/// <summary>
/// OTLP export of traces and metrics, on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment variable or any
/// other configuration source) and off otherwise. <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (<c>grpc</c>, the default, or
/// <c>http/protobuf</c>), <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_SERVICE_NAME</c> and
/// <c>OTEL_METRIC_EXPORT_INTERVAL</c> are honoured as the specification describes.
/// </summary>
public static class TelemetryExport
{
    /// <summary>Sources exported: the gateway's spans, ASP.NET Core's request spans and HttpClient's upstream spans.</summary>
    private static readonly string[] TraceSources = [GatewayTelemetry.Name, "Microsoft.AspNetCore", "System.Net.Http"];

    private static readonly string[] Meters =
        [GatewayTelemetry.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];

    public static IServiceCollection AddTelemetryExport(this IServiceCollection services, IConfiguration configuration)
    {
        // Created when the host starts and disposed (so flushed) when it stops, because the container owns them.
        services.AddHostedService<TelemetryActivation>();

        // Trace ids for log correlation exist even when nothing is exported: this listener creates spans without recording them.
        services.AddSingleton<TraceCorrelationListener>();

        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is not { Length: > 0 } endpoint)
        {
            return services;
        }

        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        var headers = configuration["OTEL_EXPORTER_OTLP_HEADERS"];
        var resource = ResourceBuilder.CreateDefault().AddService(configuration["OTEL_SERVICE_NAME"] ?? "moagateway");

        void Configure(OtlpExporterOptions options, string signal)
        {
            options.Protocol = protocol;
            // Over HTTP the signal's path goes after the base endpoint, as the specification says for this variable.
            options.Endpoint = new Uri(protocol == OtlpExportProtocol.HttpProtobuf ? $"{endpoint.TrimEnd('/')}/v1/{signal}" : endpoint);
            if (headers is not null)
            {
                options.Headers = headers;
            }
        }

        services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(TraceSources)
            .AddOtlpExporter(options => Configure(options, "traces"))
            .Build());

        var interval = int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 60_000;
        services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter((options, reader) =>
            {
                Configure(options, "metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            })
            .Build());
        return services;
    }

    /// <summary>Its constructor is its whole job: asking for the listener and providers makes the container create them at start-up.</summary>
    private sealed class TelemetryActivation : IHostedService
    {
        public TelemetryActivation(TraceCorrelationListener listener, IEnumerable<TracerProvider> tracers, IEnumerable<MeterProvider> meters)
        {
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Samples the gateway's and ASP.NET Core's spans for propagation only, so every log line can carry a trace id.</summary>
    private sealed class TraceCorrelationListener : IDisposable
    {
        private readonly ActivityListener _listener = new()
        {
            ShouldListenTo = source => source.Name is GatewayTelemetry.Name or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };

        public TraceCorrelationListener() => ActivitySource.AddActivityListener(_listener);

        public void Dispose() => _listener.Dispose();
    }
}
