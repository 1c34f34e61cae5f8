using MoaGateway.Api;
using MoaGateway.Configuration;

namespace MoaGateway;

public static class GatewayApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddExtraConfigFile().UseDefaultUrl();
        builder.Services.AddMoaGateway(builder.Configuration);

        var app = builder.Build();
        app.MapOpenAiApi();
        return app;
    }
}
