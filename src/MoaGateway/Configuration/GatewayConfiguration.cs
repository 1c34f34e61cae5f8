using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace MoaGateway.Configuration;

/// <summary>How the gateway's configuration is put together: host defaults, settings files, validators, and how problems are reported.</summary>
public static class GatewayConfiguration
{
    /// <summary>Environment variable (or command-line key) naming one extra JSON file layered over appsettings.json.</summary>
    public const string ExtraConfigVariable = "MOAGATEWAY_CONFIG";

    /// <summary>
    /// The environment to run in when neither <c>ASPNETCORE_ENVIRONMENT</c>, <c>DOTNET_ENVIRONMENT</c> nor
    /// <c>--environment</c> names one. The launch profile sets it to Development for <c>dotnet run</c>; a launch
    /// profile's own <c>ASPNETCORE_ENVIRONMENT</c> would override the one the user exported.
    /// </summary>
    public const string DefaultEnvironmentVariable = "MOAGATEWAY_DEFAULT_ENVIRONMENT";

    private const string DefaultUrl = "http://localhost:8080";

    /// <summary>
    /// The web application builder with the gateway's host defaults: the content root is the folder of the gateway's
    /// own files (so the appsettings.json beside MoaGateway.dll is found from any current directory) unless
    /// <c>--contentRoot</c> or <c>ASPNETCORE_CONTENTROOT</c> says otherwise. A settings file that is not JSON is
    /// refused as invalid configuration, not thrown as a crash.
    /// </summary>
    public static WebApplicationBuilder CreateGatewayBuilder(string[] args)
    {
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddEnvironmentVariables("DOTNET_")
            .AddCommandLine(args)
            .Build();
        var options = new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = host[HostDefaults.ContentRootKey] is null ? AppContext.BaseDirectory : null,
            EnvironmentName = host[HostDefaults.EnvironmentKey] is null ? Environment.GetEnvironmentVariable(DefaultEnvironmentVariable) : null,
        };
        try
        {
            // The slim host leaves out what a gateway does not use (IIS, HTTP/3, hosting start-up assemblies), which the
            // full one loads at start-up; HTTPS endpoints in Kestrel's configuration are kept.
            var builder = WebApplication.CreateSlimBuilder(options);
            builder.WebHost.UseKestrelHttpsConfiguration();
            return builder;
        }
        catch (InvalidDataException exception)
        {
            throw Invalid([SettingsFileSource.Describe(exception)]);
        }
    }

    /// <summary>
    /// Puts every JSON settings file under the gateway's own reloading (<see cref="SettingsFileSource"/>) and layers
    /// the file named by <c>MOAGATEWAY_CONFIG</c> right after the appsettings files, so it overrides them while
    /// environment variables and the command line still override it. A relative path is taken from the current
    /// directory, as a shell user expects.
    /// </summary>
    public static WebApplicationBuilder UseSettingsFiles(this WebApplicationBuilder builder)
    {
        var sources = builder.Configuration.Sources;
        var lastJson = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource json)
            {
                var root = json.FileProvider is PhysicalFileProvider physical
                    ? physical.Root
                    : builder.Environment.ContentRootPath;
                sources[i] = new SettingsFileSource(Path.GetFullPath(json.Path!, root), json.Optional);
                lastJson = i;
            }
        }

        if (builder.Configuration[ExtraConfigVariable] is { } path && !string.IsNullOrWhiteSpace(path))
        {
            sources.Insert(lastJson + 1, new SettingsFileSource(Path.GetFullPath(path), optional: false, namedBy: ExtraConfigVariable));
        }

        return builder;
    }

    /// <summary>Listens on <c>http://localhost:8080</c> unless ASPNETCORE_URLS, --urls or the HTTP(S)_PORTS variables say otherwise.</summary>
    public static WebApplicationBuilder UseDefaultUrl(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (string.IsNullOrEmpty(configuration[WebHostDefaults.ServerUrlsKey]) &&
            string.IsNullOrEmpty(configuration[WebHostDefaults.HttpPortsKey]) &&
            string.IsNullOrEmpty(configuration[WebHostDefaults.HttpsPortsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        return builder;
    }

    /// <summary>The validators every configuration passes, at start-up and on reload; features add their own.</summary>
    public static IServiceCollection AddGatewayOptions(this IServiceCollection services) =>
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();

    /// <summary>The exception every configuration problem is reported with, at start-up, by <c>check</c> and on reload.</summary>
    public static OptionsValidationException Invalid(IEnumerable<string> problems) =>
        new(GatewayOptions.SectionName, typeof(GatewayOptions), problems);
}
