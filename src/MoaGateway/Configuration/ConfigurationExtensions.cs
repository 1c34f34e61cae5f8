using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;

namespace MoaGateway.Configuration;

public static class ConfigurationExtensions
{
    /// <summary>Environment variable (or command-line key) naming one extra JSON file layered over appsettings.json.</summary>
    public const string ExtraConfigVariable = "MOAGATEWAY_CONFIG";

    private const string DefaultUrl = "http://localhost:8080";

    /// <summary>
    /// Inserts the file named by <c>MOAGATEWAY_CONFIG</c> right after the appsettings files, so it overrides them
    /// while environment variables and the command line still override it.
    /// </summary>
    public static WebApplicationBuilder AddExtraConfigFile(this WebApplicationBuilder builder)
    {
        var path = builder.Configuration[ExtraConfigVariable];
        if (string.IsNullOrWhiteSpace(path))
        {
            return builder;
        }

        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"{ExtraConfigVariable} names '{fullPath}', which does not exist.", fullPath);
        }

        var sources = builder.Configuration.Sources;
        var lastJson = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource)
            {
                lastJson = i;
            }
        }

        var extra = new JsonConfigurationSource { Path = fullPath, Optional = false, ReloadOnChange = false };
        extra.ResolveFileProvider();
        sources.Insert(lastJson + 1, extra);
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

    public static IServiceCollection AddGatewayOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddOptions<GatewayOptions>()
            .Bind(configuration.GetSection(GatewayOptions.SectionName))
            .ValidateOnStart();
        return services;
    }
}
