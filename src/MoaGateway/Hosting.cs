using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using MoaGateway.Health;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.Providers;
using MoaGateway.Security;

namespace MoaGateway;

public static class Hosting
{
    public static IServiceCollection AddMoaGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddGatewayOptions(configuration);
        // Bodies the gateway does not read itself (any route but chat completions) keep Kestrel's own bound.
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<GatewayOptions>>((kestrel, gateway) => kestrel.Limits.MaxRequestBodySize = gateway.Value.Limits.MaxRequestBodyBytes);

        services.AddSingleton<VirtualModelCatalog>();
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<IAgentInvoker, OpenAiAgentInvoker>();
        services.AddSingleton<MoaEngine>();
        services.AddSingleton<IPassthroughForwarder, HttpPassthroughForwarder>();
        services.AddHostedService<StartupReport>();
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
}
