using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using MoaGateway.Configuration;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// Caps the requests served at once that reach a mixture or a provider (<see cref="RequestLimitOptions.MaxConcurrentRequests"/>):
/// chat completions, responses and the pass-through endpoints together. Excess requests are
/// refused at once with 429 and <c>Retry-After</c> rather than queued: a queued MoA request holds a client for
/// nothing while its budget of upstream calls piles up.
/// </summary>
public static class ChatConcurrency
{
    public const string PolicyName = "chat-concurrency";

    public static IServiceCollection AddChatConcurrency(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter => limiter.AddPolicy(PolicyName, new Policy()));
        return services;
    }

    /// <summary>
    /// A policy with its own rejection, so that the limiter's global one is left to other limits (per client key). The
    /// partition is the limit itself: a reload that changes it starts a limiter of the new size for the requests after it.
    /// </summary>
    private sealed class Policy : IRateLimiterPolicy<int>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask> OnRejected { get; } = async (rejected, _) =>
        {
            rejected.HttpContext.Response.Headers.RetryAfter = "1";
            await OpenAiError.TooManyRequests().ExecuteAsync(rejected.HttpContext);
        };

        public RateLimitPartition<int> GetPartition(HttpContext httpContext) => RateLimitPartition.GetConcurrencyLimiter(
            ConfigurationSnapshot.Of(httpContext).Options.Limits.MaxConcurrentRequests,
            limit => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 });
    }
}
