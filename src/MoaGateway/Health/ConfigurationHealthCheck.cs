using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MoaGateway.Serving;

namespace MoaGateway.Health;

/// <summary>
/// Which configuration is served, and whether the latest reload was refused. A refused reload is Degraded, not
/// Unhealthy: the gateway still serves its last good configuration, and taking every replica out of service over a
/// bad ConfigMap would turn a mistake into an outage. <c>/readyz</c> answers 200 either way and says which in its body.
/// </summary>
public sealed class ConfigurationHealthCheck(LiveConfiguration live) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var current = live.Current;
        var serving = string.Create(CultureInfo.InvariantCulture, $"serving generation {current.Generation}, loaded at {current.LoadedAt:O}");
        return Task.FromResult(live.Refused is { } refused
            ? HealthCheckResult.Degraded(string.Create(CultureInfo.InvariantCulture,
                $"reload refused at {refused.At:O}, {serving}: {string.Join(" | ", refused.Problems)}"))
            : HealthCheckResult.Healthy(serving));
    }
}
