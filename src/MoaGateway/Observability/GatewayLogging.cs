using Serilog;
using Serilog.Settings.Configuration;

namespace MoaGateway.Observability;

public static class GatewayLogging
{
    /// <summary>How many log events may wait for the log writer before new ones are dropped (and counted).</summary>
    private const int QueueCapacity = 10_000;

    private const string SinksSection = "Serilog:WriteTo";

    /// <summary>
    /// Serilog behind Microsoft.Extensions.Logging: levels (and, if given, sinks) from the <c>Serilog</c> section;
    /// without configured sinks, readable console lines in Development and JSON lines everywhere else. Every event
    /// carries the trace and span ids of the request it belongs to, and every sink is written off the request path.
    /// </summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var readerOptions = new ConfigurationReaderOptions(typeof(ConsoleLoggerConfigurationExtensions).Assembly);
        var sinks = new LoggerConfiguration().MinimumLevel.Verbose();
        sinks = configuration.GetSection(SinksSection).Exists()
            ? sinks.ReadFrom.Configuration(Only(configuration, key => IsSinkKey(key) || key.StartsWith("Serilog:Using", StringComparison.OrdinalIgnoreCase)), readerOptions)
            : builder.Environment.IsDevelopment()
                ? sinks.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}")
                : sinks.WriteTo.Console(new JsonLogFormatter());

        var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(Only(configuration, key => !IsSinkKey(key)), readerOptions)
            .Enrich.FromLogContext()
            .Enrich.With<TraceEnricher>()
            .WriteTo.Sink(new BackgroundLogSink(sinks.CreateLogger(), QueueCapacity))
            .CreateLogger();
        builder.Logging.ClearProviders().AddSerilog(logger, dispose: true);
        return builder;
    }

    private static bool IsSinkKey(string key) => key.StartsWith(SinksSection, StringComparison.OrdinalIgnoreCase);

    /// <summary>The <c>Serilog</c> section's keys that <paramref name="keep"/> accepts, as a configuration of their own.</summary>
    private static IConfiguration Only(ConfigurationManager configuration, Func<string, bool> keep) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.GetSection("Serilog").AsEnumerable().Where(pair => keep(pair.Key)))
            .Build();
}
