using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Health;
using MoaGateway.Observability;
using MoaGateway.Security;

namespace MoaGateway;

public static class GatewayApp
{
    /// <param name="args">The command line, configuration overrides included.</param>
    /// <param name="overrideServices">Replaces registered services (tests inject faults here); null in production.</param>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddExtraConfigFile().UseDefaultUrl().AddGatewayLogging();
        builder.Services.AddMoaGateway(builder.Configuration);
        overrideServices?.Invoke(builder.Services);

        var app = builder.Build();
        // Outermost, so the 401s, 403s and 429s of the security layer get their log line too.
        app.UseMiddleware<RequestLogging>();
        app.UseGatewaySecurity();
        app.MapGatewayHealth();
        app.MapOpenAiApi();
        return app;
    }
}
