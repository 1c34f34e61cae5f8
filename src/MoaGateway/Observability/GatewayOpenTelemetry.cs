using System.Diagnostics.Metrics;
using MoaGateway.Moa;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MoaGateway.Observability;

/// <summary>
/// Traces and metrics through OpenTelemetry: the gateway's own spans and meters, ASP.NET Core's, HttpClient's and the
/// runtime's. OTLP export is configured by the standard <c>OTEL_*</c> variables (environment or any other
/// configuration source), on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, for each signal unless its
/// <c>OTEL_TRACES_EXPORTER</c> or <c>OTEL_METRICS_EXPORTER</c> leaves out <c>otlp</c> (<c>none</c>, say, where metrics are
/// scraped instead); Prometheus scraping is on with the management port (<see cref="ManagementPort"/>).
/// </summary>
public static class GatewayOpenTelemetry
{
    private const string DefaultServiceName = "moagateway";

    public static IServiceCollection AddGatewayOpenTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var exportTraces = ExportsOtlp(configuration, "OTEL_TRACES_EXPORTER");
        var exportMetrics = ExportsOtlp(configuration, "OTEL_METRICS_EXPORTER");
        var scrapeMetrics = ManagementPort.Of(configuration) is not null;

        services.AddOpenTelemetry()
            // A service named in code would replace the SDK's own reading of OTEL_SERVICE_NAME, so the default gives way here.
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? DefaultServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(MoaTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (exportTraces)
                {
                    tracing.AddOtlpExporter(WithoutHttpClientMetrics);
                }
                else
                {
                    // Nothing records spans then, but requests still get a trace id (propagated upstream and written
                    // in every log line): the root span is created for propagation only, its children not at all.
                    tracing.SetSampler(new AlwaysOffSampler());
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MoaTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation();
                if (exportMetrics)
                {
                    metrics.AddOtlpExporter((exporter, _) => WithoutHttpClientMetrics(exporter));
                }

                if (scrapeMetrics)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        return services;
    }

    /// <summary>The SDK reads every OTLP setting itself, but not which signals are to be exported, so that is read here.</summary>
    private static bool ExportsOtlp(IConfiguration configuration, string signalExporters) =>
        !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        && (configuration[signalExporters] is not { Length: > 0 } exporters
            || exporters.Split(',', StringSplitOptions.TrimEntries).Contains("otlp", StringComparer.OrdinalIgnoreCase));

    /// <summary>
    /// HttpClient records its own metrics, so without this the exporter's POSTs to the collector would be counted
    /// among the upstream calls in <c>http.client.*</c>. Its client gets meters under a name that nothing listens to.
    /// </summary>
    private static void WithoutHttpClientMetrics(OtlpExporterOptions options)
    {
        var timeout = TimeSpan.FromMilliseconds(options.TimeoutMilliseconds);
        options.HttpClientFactory = () => new HttpClient(new SocketsHttpHandler { MeterFactory = UnlistenedMeters.Instance }) { Timeout = timeout };
    }

    private sealed class UnlistenedMeters : IMeterFactory
    {
        public static readonly UnlistenedMeters Instance = new();

        private readonly Meter _meter = new("MoaGateway.OtlpExporter.Http");

        public Meter Create(MeterOptions options) => _meter;

        /// <summary>The one meter lives as long as the process, like the exporters whose clients use it.</summary>
        public void Dispose()
        {
        }
    }
}
