using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Security;

/// <summary>Client keys and their limits and budgets on <c>/v1</c>, CORS, security headers and request ids.</summary>
public static class GatewaySecurity
{
    /// <summary>
    /// What OpenAI clients send besides CORS-safelisted headers: the key, JSON, a request id of their own, and the
    /// platform and retry headers of the official JavaScript SDK, without which its preflight would fail.
    /// </summary>
    private static readonly string[] CorsRequestHeaders =
    [
        "Authorization", "Content-Type", RequestIdMiddleware.Header, "OpenAI-Organization", "OpenAI-Project",
        "X-Stainless-Arch", "X-Stainless-Lang", "X-Stainless-OS", "X-Stainless-Package-Version", "X-Stainless-Retry-Count",
        "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout", "X-Stainless-Helper-Method",
    ];

    public static IServiceCollection AddGatewaySecurity(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<GatewayOptions>, AccessControlValidator>();
        services.AddCors();
        services.AddSingleton<ICorsPolicyProvider, SnapshotCorsPolicyProvider>();
        return services;
    }

    /// <summary>
    /// The policy for <paramref name="cors"/>'s origins. Without origins there is none, and the CORS middleware adds
    /// nothing: browsers on other origins are refused.
    /// </summary>
    public static CorsPolicy? CorsPolicy(GatewayCorsOptions cors)
    {
        var origins = cors.AllowedOrigins;
        if (origins.Count == 0)
        {
            return null;
        }

        var policy = new CorsPolicyBuilder();
        return (origins.Contains("*") ? policy.AllowAnyOrigin() : policy.WithOrigins([.. origins]))
            .WithHeaders(CorsRequestHeaders)
            .WithMethods(HttpMethods.Get, HttpMethods.Post, HttpMethods.Options)
            .WithExposedHeaders(RequestIdMiddleware.Header)
            .Build();
    }

    /// <summary>Every response carries <c>x-request-id</c>, and the request its id as <c>HttpContext.TraceIdentifier</c>.</summary>
    public static WebApplication UseRequestIds(this WebApplication app)
    {
        app.UseMiddleware<RequestIdMiddleware>();
        return app;
    }

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.UseMiddleware<SecurityHeadersMiddleware>();
        return app;
    }

    /// <summary>A <c>/v1</c> request needs a client key once keys are configured.</summary>
    public static WebApplication UseClientKeys(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/v1"), v1 => v1.UseMiddleware<ClientKeyMiddleware>());
        return app;
    }

    /// <summary>The limits and budget of the request's client key (after routing, which tells which endpoints spend money).</summary>
    public static WebApplication UseClientKeyLimits(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/v1"), v1 => v1.UseMiddleware<ClientKeyLimits>());
        return app;
    }

    /// <summary>Requests to these endpoints spend money upstream: a client key at or over its budget is refused them.</summary>
    public static TBuilder RequireBudget<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(Budgeted.Metadata);
}
