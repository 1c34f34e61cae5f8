using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Providers;

namespace MoaGateway.Health;

/// <summary>
/// Ready means the configuration was valid at start-up (else the process would not be serving) and, when
/// <c>MoaGateway:Readiness:ProbeProviders</c> is on, every real provider answered HTTP below 500 on <c>GET models</c>.
/// Probe results are kept for <c>ProbeCacheSeconds</c> so frequent readiness probes do not hammer upstreams.
/// </summary>
public sealed class ProviderReachabilityCheck(ProviderRegistry providers, IOptions<GatewayOptions> options, TimeProvider time) : IHealthCheck, IDisposable
{
    private readonly SemaphoreSlim _probing = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var readiness = options.Value.Readiness;
        if (!readiness.ProbeProviders)
        {
            return HealthCheckResult.Healthy("configuration valid; provider probing off");
        }

        await _probing.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } last && time.GetUtcNow() - last.At < TimeSpan.FromSeconds(readiness.ProbeCacheSeconds))
            {
                return last.Result;
            }

            var result = await ProbeAsync(TimeSpan.FromSeconds(readiness.ProbeTimeoutSeconds), cancellationToken);
            _last = (time.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _probing.Release();
        }
    }

    public void Dispose() => _probing.Dispose();

    private async Task<HealthCheckResult> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = providers.All.Where(provider => !provider.IsSimulated).Select(async provider =>
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(provider.BaseUrl, "models"));
                provider.Authorize(request);
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
            ? HealthCheckResult.Healthy("configuration valid; providers reachable")
            : HealthCheckResult.Unhealthy(string.Join("; ", failures));
    }
}
