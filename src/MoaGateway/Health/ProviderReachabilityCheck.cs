using Microsoft.Extensions.Diagnostics.HealthChecks;
using MoaGateway.Providers;
using MoaGateway.Serving;

namespace MoaGateway.Health;

/// <summary>
/// When <c>MoaGateway:Readiness:ProbeProviders</c> is on, ready means that every real provider answered HTTP below 500
/// on <c>GET models</c>. Probe results are kept for <c>ProbeCacheSeconds</c> so frequent readiness probes do not
/// hammer upstreams, and probed again when a reload changed the configuration.
/// </summary>
public sealed class ProviderReachabilityCheck(LiveConfiguration live, TimeProvider time) : IHealthCheck, IDisposable
{
    private readonly SemaphoreSlim _probing = new(1, 1);
    private (DateTimeOffset At, int Generation, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var lease = live.Acquire();
        var configuration = lease.Snapshot;
        var readiness = configuration.Options.Readiness;
        if (!readiness.ProbeProviders)
        {
            return HealthCheckResult.Healthy("provider probing off");
        }

        await _probing.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } last && last.Generation == configuration.Generation &&
                time.GetUtcNow() - last.At < TimeSpan.FromSeconds(readiness.ProbeCacheSeconds))
            {
                return last.Result;
            }

            var result = await ProbeAsync(configuration.Providers, TimeSpan.FromSeconds(readiness.ProbeTimeoutSeconds), cancellationToken);
            _last = (time.GetUtcNow(), configuration.Generation, result);
            return result;
        }
        finally
        {
            _probing.Release();
        }
    }

    public void Dispose() => _probing.Dispose();

    private static async Task<HealthCheckResult> ProbeAsync(ProviderRegistry providers, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = providers.All.Where(provider => !provider.IsSimulated).Select(async provider =>
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(provider.BaseUrl, "models"));
                using var response = await provider.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                return (int)response.StatusCode < 500 ? null : $"{provider.Name}: HTTP {(int)response.StatusCode}";
            }
            catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return $"{provider.Name}: unreachable ({(exception is OperationCanceledException ? "timed out" : provider.Redact(exception.Message))})";
            }
        });
        var failures = (await Task.WhenAll(probes)).OfType<string>().ToList();
        return failures.Count == 0
            ? HealthCheckResult.Healthy("providers reachable")
            : HealthCheckResult.Unhealthy(string.Join("; ", failures));
    }
}
