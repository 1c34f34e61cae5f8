using MoaGateway.Configuration;
using MoaGateway.Moa;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;

namespace MoaGateway.Providers;

/// <summary>
/// A provider's retries and circuit breakers, shared by every call to it. Each model has a breaker of its own, as one
/// failing model id says nothing of the provider's other models; a failed connect says nothing about any model, so
/// connect failures count in one breaker for the provider as a whole, which every model's calls pass through.
/// </summary>
public sealed class ProviderResilience : IDisposable
{
    private readonly string _provider;
    private readonly ProviderOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipelineRegistry<string> _models = new();
    private readonly ResiliencePipeline _connects;

    public ProviderResilience(string provider, ProviderOptions options, TimeProvider time)
    {
        _provider = provider;
        _options = options;
        _time = time;
        _connects = AddBreaker(new ResiliencePipelineBuilder { TimeProvider = time }, connectFailures: true).Build();
    }

    /// <summary>Runs <paramref name="call"/> to <paramref name="model"/>, retried, behind both breakers; an open circuit fails it at once.</summary>
    public async Task<T> ExecuteAsync<T>(string model, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var pipeline = _models.GetOrAddPipeline(model, builder =>
        {
            builder.TimeProvider = _time;
            AddBreaker(AddRetry(builder), connectFailures: false);
        });
        try
        {
            return await pipeline.ExecuteAsync(
                async token =>
                {
                    try
                    {
                        return await _connects.ExecuteAsync(async inner => await call(inner), token);
                    }
                    catch (BrokenCircuitException exception)
                    {
                        throw CircuitOpen(model, $"{_provider}: circuit open after repeated connection failures", exception);
                    }
                },
                cancellationToken);
        }
        catch (BrokenCircuitException exception)
        {
            throw CircuitOpen(model, $"{_provider}/{model}: circuit open after repeated failures", exception);
        }
    }

    public void Dispose() => _models.Dispose();

    private ProviderException CircuitOpen(string model, string message, BrokenCircuitException exception)
    {
        var retryIn = exception.RetryAfter is { } after ? $"; calls resume in {after.TotalSeconds:0.#} s" : string.Empty;
        ProviderTelemetry.UpstreamError(_provider, model, "circuit_open");
        return new ProviderException($"{message}{retryIn}.", ProviderFailure.Error, exception) { ErrorType = "circuit_open" };
    }

    private ResiliencePipelineBuilder AddRetry(ResiliencePipelineBuilder builder)
    {
        var retry = _options.Retry;
        if (retry.MaxRetries == 0)
        {
            return builder;
        }

        var maxRetryAfter = TimeSpan.FromSeconds(retry.MaxRetryAfterSeconds);
        return builder.AddRetry(new RetryStrategyOptions
        {
            // A Retry-After longer than we are willing to wait means this call fails now instead.
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is ProviderException { IsTransient: true } failure && !(failure.RetryAfter > maxRetryAfter)),
            MaxRetryAttempts = retry.MaxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(retry.BaseDelayMs),
            MaxDelay = TimeSpan.FromMilliseconds(retry.MaxDelayMs),
            DelayGenerator = args => ValueTask.FromResult(
                args.Outcome.Exception is ProviderException { RetryAfter: { } retryAfter } ? retryAfter : (TimeSpan?)null),
        });
    }

    /// <summary>A breaker of transient failures: connect failures only, or every other kind.</summary>
    private ResiliencePipelineBuilder AddBreaker(ResiliencePipelineBuilder builder, bool connectFailures)
    {
        var breaker = _options.CircuitBreaker;
        return !breaker.Enabled
            ? builder
            : builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is ProviderException { IsTransient: true } failure && failure.IsConnectFailure == connectFailures),
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(breaker.SamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(breaker.BreakSeconds),
            });
    }
}
