using System.Threading.RateLimiting;
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
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(PolicyName, context => RateLimitPartition.GetConcurrencyLimiter(
                PolicyName,
                _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Limits.MaxConcurrentRequests,
                    QueueLimit = 0,
                }));
            limiter.OnRejected = async (rejected, _) =>
            {
                rejected.HttpContext.Response.Headers.RetryAfter = "1";
                await OpenAiError.TooManyRequests().ExecuteAsync(rejected.HttpContext);
            };
        });
        return services;
    }
}
