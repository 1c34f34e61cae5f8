using MoaGateway.Api;
using MoaGateway.Configuration;
using MoaGateway.Health;
using MoaGateway.Observability;
using MoaGateway.Playground;
using MoaGateway.Security;
using Serilog;

namespace MoaGateway;

/// <summary>The composition root: what is registered, and the whole request pipeline in the order a request meets it.</summary>
public static class GatewayApp
{
    /// <param name="args">The command line, configuration overrides included.</param>
    /// <param name="overrideServices">Replaces registered services (tests inject faults here); null in production.</param>
    public static WebApplication Create(string[] args, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = GatewayConfiguration.CreateGatewayBuilder(args);
        builder.UseSettingsFiles().UseDefaultUrl().AddManagementPort();
        builder.Services.AddGatewayLogging(builder.Configuration, builder.Environment);
        builder.Services.AddMoaGateway(builder.Configuration);
        overrideServices?.Invoke(builder.Services);

        var app = builder.Build();
        // Requests on the management port (Prometheus) branch off here: nothing below applies to them.
        app.UseManagementPort();
        // Every request, health probes included, runs on the configuration current when it arrived.
        app.UseConfigurationSnapshot();
        // Outermost of the public pipeline but the snapshot, so the 401s, 403s and 429s further in get their log line too.
        app.UseSerilogRequestLogging();
        // Every response, health and errors included, carries a request id and the security headers.
        app.UseRequestIds();
        app.UseSecurityHeaders();
        app.UseRouting();
        // Before the client keys: a preflight carries no key.
        app.UseCors();
        app.UseClientKeys();
        app.UseOpenAiErrors();
        // After the client keys: the limits and budget of the key found there, before the gateway-wide cap.
        app.UseClientKeyLimits();
        app.UseRateLimiter();
        app.MapGatewayHealth();
        app.MapOpenAiApi();
        app.MapPlayground();
        return app;
    }
}
