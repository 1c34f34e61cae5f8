using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;

namespace MoaGateway.Api;

/// <summary>
/// Caps chat requests served at once (<see cref="RequestLimitOptions.MaxConcurrentRequests"/>). Excess requests are
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

    /// <summary>A policy with its own rejection, so that the limiter's global one is left to other limits (per client key).</summary>
    private sealed class Policy : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask> OnRejected { get; } = async (rejected, _) =>
        {
            rejected.HttpContext.Response.Headers.RetryAfter = "1";
            await OpenAiError.TooManyRequests().ExecuteAsync(rejected.HttpContext);
        };

        public RateLimitPartition<string> GetPartition(HttpContext httpContext) => RateLimitPartition.GetConcurrencyLimiter(
            PolicyName,
            _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = httpContext.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Limits.MaxConcurrentRequests,
                QueueLimit = 0,
            });
    }
}
