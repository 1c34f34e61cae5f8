using Microsoft.AspNetCore.Cors.Infrastructure;
using MoaGateway.Serving;

namespace MoaGateway.Security;

/// <summary>The CORS policy of the configuration the request started with, so that allowed origins reload like the rest.</summary>
internal sealed class SnapshotCorsPolicyProvider : ICorsPolicyProvider
{
    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) => Task.FromResult(ConfigurationSnapshot.Of(context).Cors);
}
