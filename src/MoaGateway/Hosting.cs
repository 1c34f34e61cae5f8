using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using MoaGateway.Forwarding;
using MoaGateway.Health;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.Providers;
using MoaGateway.Security;
using MoaGateway.Serving;
using MoaGateway.SharedState;

namespace MoaGateway;

public static class Hosting
{
    public static IServiceCollection AddMoaGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddGatewayOptions();
        services.AddSingleton<ConfigurationLoader>();
        // Counts of client keys' limits and spend outlive any one configuration.
        services.AddSingleton<SharedStore>();
        services.AddSingleton<IValidateOptions<GatewayOptions>, SharedStateValidator>();
        services.AddSingleton<IValidateOptions<GatewayOptions>, PricingValidator>();
        // How each configuration's agents are called: through its own providers.
        services.AddSingleton<Func<ProviderRegistry, IAgentInvoker>>(_ => providers => new OpenAiAgentInvoker(providers));
        services.AddSingleton<LiveConfiguration>();
        services.AddHostedService<ConfigurationWatcher>();
        // What the host reads once, at start-up; everything a request uses comes from its ConfigurationSnapshot.
        services.AddSingleton<IOptions<GatewayOptions>>(provider => Options.Create(provider.GetRequiredService<LiveConfiguration>().StartupOptions));
        // Bodies the gateway does not read itself (any route but chat completions) keep Kestrel's own bound.
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<GatewayOptions>>((kestrel, gateway) => kestrel.Limits.MaxRequestBodySize = gateway.Value.Limits.MaxRequestBodyBytes);

        services.AddHttpForwarder();
        services.AddSingleton<PassthroughForwarder>();
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<ShutdownDrain>());
        // The host waits a little longer than the drain, so requests cut at the drain's end can still send their error.
        services.AddOptions<HostOptions>()
            .Configure<IOptions<GatewayOptions>>((host, gateway) => host.ShutdownTimeout = TimeSpan.FromSeconds(gateway.Value.ShutdownDrainSeconds + 5));
        services.AddChatConcurrency();
        services.AddGatewayOpenTelemetry(configuration);
        services.AddGatewaySecurity();
        services.AddSingleton(TimeProvider.System);
        services.AddGatewayHealth();
        return services;
    }

    /// <summary>Gives each request the configuration snapshot current when it arrives, held until the request ends.</summary>
    public static WebApplication UseConfigurationSnapshot(this WebApplication app)
    {
        var live = app.Services.GetRequiredService<LiveConfiguration>();
        app.Use(async (context, next) =>
        {
            using var lease = live.Acquire();
            context.Features.Set(lease.Snapshot);
            await next(context);
        });
        return app;
    }
}
