using MoaGateway.Configuration;
using MoaGateway.Moa;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace MoaGateway.Providers;

/// <summary>A provider's retry and circuit-breaker pipeline, shared by every call to that provider.</summary>
internal static class ProviderResilience
{
    public static ResiliencePipeline Create(ProviderOptions options, TimeProvider time)
    {
        var retry = options.Retry;
        var maxRetryAfter = TimeSpan.FromSeconds(retry.MaxRetryAfterSeconds);
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (retry.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
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

        var breaker = options.CircuitBreaker;
        if (breaker.Enabled)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is ProviderException { IsTransient: true }),
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(breaker.SamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(breaker.BreakSeconds),
            });
        }

        return builder.Build();
    }
}
