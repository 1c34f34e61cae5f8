using System.Globalization;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Observability;

/// <summary>
/// The management port, <c>MoaGateway:Management:Port</c>, off unless set: Prometheus scrapes <c>/metrics</c> there and
/// nothing else is served on it, while the public port never serves <c>/metrics</c>, so a scrape endpoint cannot be
/// exposed to clients by accident. Requests are told apart by the port they arrived on, which a client cannot forge.
/// </summary>
public static class ManagementPort
{
    public const string PortKey = GatewayOptions.SectionName + ":Management:Port";

    public const string MetricsPath = "/metrics";

    /// <summary>The configured port, or null when it is not set.</summary>
    public static int? Of(IConfiguration configuration)
    {
        var value = configuration[PortKey];
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw Invalid($"{PortKey} '{value}' is not a TCP port (1 to 65535).");
    }

    /// <summary>Listens on the management port, on every interface, besides the public addresses.</summary>
    public static WebApplicationBuilder AddManagementPort(this WebApplicationBuilder builder)
    {
        if (Of(builder.Configuration) is not { } port)
        {
            return builder;
        }

        var publicUrls = PublicUrls(builder.Configuration);
        if (publicUrls.FirstOrDefault(url => BindingAddress.Parse(url).Port == port) is { } clash)
        {
            throw Invalid($"{PortKey} {port} is also the port of the public address {clash}; give the management port a port of its own.");
        }

        builder.WebHost.UseUrls([.. publicUrls, $"http://*:{port}"]);
        return builder;
    }

    /// <summary>Serves the management port's requests apart from the public pipeline: <c>/metrics</c>, or a plain 404.</summary>
    public static WebApplication UseManagementPort(this WebApplication app)
    {
        if (Of(app.Configuration) is { } port)
        {
            app.MapWhen(context => context.Connection.LocalPort == port, management => management
                .UseOpenTelemetryPrometheusScrapingEndpoint(MetricsPath)
                .Run(context =>
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }));
        }

        return app;
    }

    /// <summary>
    /// The public addresses as the host would read them: listing the management port's URL replaces them, so they are
    /// listed too, ASPNETCORE_HTTP(S)_PORTS turned into the URLs the host would make of them.
    /// </summary>
    private static string[] PublicUrls(ConfigurationManager configuration)
    {
        const StringSplitOptions Options = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            return urls.Split(';', Options);
        }

        static IEnumerable<string> Ports(string? ports, string scheme) =>
            (ports ?? string.Empty).Split(';', Options).Select(port => $"{scheme}://*:{port}");

        return [.. Ports(configuration[WebHostDefaults.HttpPortsKey], "http"), .. Ports(configuration[WebHostDefaults.HttpsPortsKey], "https")];
    }

    private static OptionsValidationException Invalid(string message) =>
        new(GatewayOptions.SectionName, typeof(GatewayOptions), [message]);
}
