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
        var builder = WebApplication.CreateBuilder(args);
        builder.AddExtraConfigFile().UseDefaultUrl().AddGatewayLogging();
        builder.Services.AddMoaGateway(builder.Configuration);

        var app = builder.Build();
        // Outermost, so the 401s, 403s and 429s of the security layer get their log line too.
        app.UseMiddleware<RequestLogging>();
        app.UseGatewaySecurity();
        app.MapGatewayHealth();
        app.MapOpenAiApi();
        return app;
    }
}
