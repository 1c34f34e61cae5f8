using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using MoaGateway.Api;

namespace MoaGateway.Security;

/// <summary>
/// Each key's <see cref="ClientKey.RequestsPerMinute"/> and <see cref="ClientKey.MaxConcurrentRequests"/>, chained as
/// the rate limiter's global limiter: checked on every request that authenticated with a key, before the endpoint's
/// policy (the gateway-wide chat cap, <see cref="ChatConcurrency"/>), which answers its own refusals.
/// The minute is a fixed window because the runtime's sliding-window limiter gives refused leases no <c>RetryAfter</c>,
/// so clients would be told to retry every second; a fixed window's refusal says when the window is sure to have
/// reset. The price is that a key may send up to twice its limit across a window boundary.
/// </summary>
public sealed class ClientKeyLimits : IDisposable
{
    private static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    // Partitioned by key and limit, so that a reload that changes a key's limit applies it from the next request on.
    private readonly PartitionedRateLimiter<HttpContext> _perMinute = PartitionedRateLimiter.Create<HttpContext, (string, int)>(context =>
        context.Features.Get<ClientKey>() is { RequestsPerMinute: { } limit } key
            ? RateLimitPartition.GetFixedWindowLimiter((key.Id, limit), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = limit,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            })
            : RateLimitPartition.GetNoLimiter(("", 0)));

    private readonly PartitionedRateLimiter<HttpContext> _concurrent = PartitionedRateLimiter.Create<HttpContext, (string, int)>(context =>
        context.Features.Get<ClientKey>() is { MaxConcurrentRequests: { } limit } key
            ? RateLimitPartition.GetConcurrencyLimiter((key.Id, limit), _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 })
            : RateLimitPartition.GetNoLimiter(("", 0)));

    public ClientKeyLimits() => Limiter = PartitionedRateLimiter.CreateChained(_perMinute, _concurrent);

    /// <summary>Both limits of the request's key; requests without a key pass untouched.</summary>
    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    public void Dispose()
    {
        // A chained limiter does not own the limiters it chains.
        Limiter.Dispose();
        _concurrent.Dispose();
        _perMinute.Dispose();
    }

    /// <summary>The answer to a request <see cref="Limiter"/> refused. Only the minute's window gives refused leases a <c>RetryAfter</c>, which tells the two limits apart.</summary>
    public static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var key = rejected.HttpContext.Features.GetRequiredFeature<ClientKey>();
        var (error, retryAfter) = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? (OpenAiError.KeyRateLimited(key.RequestsPerMinute!.Value), wait)
            : (OpenAiError.KeyConcurrencyLimited(key.MaxConcurrentRequests!.Value), ConcurrencyRetryAfter);
        rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await error.ExecuteAsync(rejected.HttpContext);
    }
}
