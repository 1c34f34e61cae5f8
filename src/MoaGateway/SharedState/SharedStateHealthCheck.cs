using Microsoft.Extensions.Diagnostics.HealthChecks;
using MoaGateway.Serving;

namespace MoaGateway.SharedState;

/// <summary>
/// The <c>redis</c> entry of <c>/readyz</c>: whether the Redis of <c>SharedState:Redis</c> answers a <c>PING</c> within
/// its timeout. Without it the replica counts on its own: Degraded when failing open (it still serves, as the
/// configuration check's refused reload does), Unhealthy when failing closed (limited keys are refused meanwhile).
/// </summary>
public sealed class SharedStateHealthCheck(LiveConfiguration live) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (live.Current.Counters is not RedisCounters redis)
        {
            return HealthCheckResult.Healthy("not configured: client keys' limits and budgets are counted in this replica's memory");
        }

        var (answered, description) = await redis.ProbeAsync();
        return answered ? HealthCheckResult.Healthy(description)
            : redis.Options.FailClosed ? HealthCheckResult.Unhealthy(description)
            : HealthCheckResult.Degraded(description);
    }
}
