using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Security;
using Serilog;
using Serilog.AspNetCore;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Settings.Configuration;

namespace MoaGateway.Observability;

public static class GatewayLogging
{
    /// <summary>How many log events may wait for the console before new ones are dropped (and counted).</summary>
    private const int BufferSize = 10_000;

    /// <summary>
    /// Where <c>Serilog:WriteTo</c> and <c>Serilog:Enrich</c> find their methods: the Serilog assemblies the gateway ships,
    /// named here rather than found by opening every DLL beside the gateway at start-up, which loaded three assemblies
    /// for the search alone (bench/: idle memory).
    /// </summary>
    private static readonly ConfigurationReaderOptions SinkAssemblies = new(
        typeof(ConsoleLoggerConfigurationExtensions).Assembly,
        typeof(FileLoggerConfigurationExtensions).Assembly,
        typeof(LoggerSinkConfigurationDebugExtensions).Assembly,
        typeof(LoggerConfigurationAsyncExtensions).Assembly,
        typeof(SerilogHostBuilderExtensions).Assembly);

    private const string ReadableTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    private const string RequestTemplate =
        "HTTP {RequestMethod} {RequestPath} {StatusCode} in {Elapsed:0.0} ms (model {Model}, stream {Stream}, client {ClientKeyId}, tokens {TotalTokens}, cost {CostUsd}, request {RequestId})";

    /// <summary>nginx's status for a request whose client closed the connection first.</summary>
    private const int ClientClosedRequest = 499;

    /// <summary>
    /// Serilog behind Microsoft.Extensions.Logging: levels, enrichers and sinks from the <c>Serilog</c> section; without
    /// configured sinks, readable console lines in Development and compact JSON lines everywhere else, written by the
    /// asynchronous sink's own thread so a slow reader of stdout never holds up a request. One line per request.
    /// </summary>
    public static IServiceCollection AddGatewayLogging(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddSingleton<LogBufferMonitor>();
        // The gateway's own logger, not the static one: several gateways in one process (the tests) keep their own sinks.
        services.AddSerilog(
            (provider, logger) =>
            {
                // YARP's forwarder logs two lines per forward at Information; the request line already says what they say.
                logger.MinimumLevel.Override("Yarp.ReverseProxy", LogEventLevel.Warning)
                    .ReadFrom.Configuration(configuration, SinkAssemblies).Enrich.FromLogContext();
                if (!configuration.GetSection("Serilog:WriteTo").Exists())
                {
                    logger.WriteTo.Async(
                        sink =>
                        {
                            if (environment.IsDevelopment())
                            {
                                sink.Console(outputTemplate: ReadableTemplate, formatProvider: null);
                            }
                            else
                            {
                                sink.Console(new CompactJsonFormatter());
                            }
                        },
                        BufferSize,
                        blockWhenFull: false,
                        monitor: provider.GetRequiredService<LogBufferMonitor>());
                }
            },
            preserveStaticLogger: true);

        services.AddScoped(provider => new RequestLogDetails(provider.GetRequiredService<IOptions<GatewayOptions>>().Value.Logging.IncludeContent));
        services.AddOptions<RequestLoggingOptions>().Configure<Serilog.ILogger>((options, logger) =>
        {
            options.Logger = logger;
            options.MessageTemplate = RequestTemplate;
            options.GetLevel = LevelOf;
            options.GetMessageTemplateProperties = RequestProperties;
            options.EnrichDiagnosticContext = Enrich;
        });
        return services;
    }

    private static LogEventLevel LevelOf(HttpContext context, double elapsedMs, Exception? exception) =>
        exception is not null ? LogEventLevel.Error
        : context.Request.Path.StartsWithSegments("/healthz") || context.Request.Path.StartsWithSegments("/readyz") ? LogEventLevel.Debug
        : LogEventLevel.Information;

    private static IEnumerable<LogEventProperty> RequestProperties(HttpContext context, string path, double elapsedMs, int statusCode) =>
    [
        new("RequestMethod", new ScalarValue(context.Request.Method)),
        new("RequestPath", new ScalarValue(path)),
        new("StatusCode", new ScalarValue(context.RequestAborted.IsCancellationRequested ? ClientClosedRequest : statusCode)),
        new("Elapsed", new ScalarValue(elapsedMs)),
    ];

    /// <summary>Runs once the request is over: the security layer has set the request id and the client key by then.</summary>
    private static void Enrich(IDiagnosticContext log, HttpContext context)
    {
        var details = context.RequestServices.GetRequiredService<RequestLogDetails>();
        log.Set("Model", details.Model);
        log.Set("Stream", details.Stream);
        log.Set("ClientKeyId", context.Features.Get<ClientKey>()?.Id);
        log.Set("TotalTokens", details.TotalTokens);
        var cost = RequestCost.Of(context)?.Settled;
        log.Set("CostUsd", cost?.Total);
        log.Set("CostComplete", cost?.Complete);
        log.Set("RequestId", context.TraceIdentifier);
        if (details.CaptureContent)
        {
            log.Set("Prompt", details.Prompt);
            log.Set("Completion", details.Completion);
        }
    }
}
