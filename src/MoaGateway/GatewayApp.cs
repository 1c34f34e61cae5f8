using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Health;
using MoaGateway.Observability;
using MoaGateway.Security;

namespace MoaGateway;

public static class GatewayApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = GatewayConfiguration.CreateGatewayBuilder(args);
        builder.UseSettingsFiles().UseDefaultUrl().AddGatewayLogging();
        builder.Services.AddMoaGateway(builder.Configuration);

        var app = builder.Build();
        // Outermost: every request, health probes included, runs on the configuration it started with.
        app.UseConfigurationSnapshot();
        // Outermost but one, so the 401s, 403s and 429s of the security layer get their log line too.
        app.UseMiddleware<RequestLogging>();
        app.UseGatewaySecurity();
        app.MapGatewayHealth();
        app.MapOpenAiApi();
        return app;
    }
}
