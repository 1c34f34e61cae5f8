using Serilog;
using Serilog.Settings.Configuration;

namespace MoaGateway.Observability;

public static class GatewayLogging
{
    /// <summary>
    /// Serilog behind Microsoft.Extensions.Logging: levels (and, if given, sinks) from the <c>Serilog</c> section;
    /// without configured sinks, readable console lines in Development and JSON lines everywhere else. Every event
    /// carries the trace and span ids of the request it belongs to.
    /// </summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(builder.Configuration, new ConfigurationReaderOptions(typeof(ConsoleLoggerConfigurationExtensions).Assembly))
            .Enrich.FromLogContext()
            .Enrich.With<TraceEnricher>();
        if (!builder.Configuration.GetSection("Serilog:WriteTo").Exists())
        {
            logger = builder.Environment.IsDevelopment()
                ? logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}")
                : logger.WriteTo.Console(new JsonLogFormatter());
        }

        builder.Logging.ClearProviders().AddSerilog(logger.CreateLogger(), dispose: true);
        return builder;
    }
}
