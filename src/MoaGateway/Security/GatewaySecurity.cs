using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Security;

/// <summary>Client keys and their limits on <c>/v1</c>, CORS, security headers and request ids.</summary>
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
        services.AddSingleton<ClientKeyLimits>();
        services.AddRateLimiter();
        services.AddOptions<RateLimiterOptions>().Configure<ClientKeyLimits>((limiter, limits) =>
        {
            limiter.GlobalLimiter = limits.Limiter;
            limiter.OnRejected = ClientKeyLimits.RejectAsync;
        });
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

    /// <summary>First in the pipeline, so that every response, health and errors included, carries the headers and request id.</summary>
    public static WebApplication UseGatewaySecurity(this WebApplication app)
    {
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseMiddleware<SecurityHeadersMiddleware>();
        // Before authentication: a preflight carries no key.
        app.UseCors();
        // Before the rate limiter (in MapOpenAiApi), whose global limiter applies the limits of the key found here.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/v1"), v1 => v1.UseMiddleware<ClientKeyMiddleware>());
        return app;
    }
}
