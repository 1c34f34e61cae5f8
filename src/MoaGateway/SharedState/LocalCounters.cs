using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using MoaGateway.Costs;

namespace MoaGateway.SharedState;

/// <summary>
/// Counts in this replica's memory, so each replica holds every key to its limits on its own: one per process, kept
/// across reloads. The minute is a fixed window because the runtime's sliding-window limiter gives refused leases no
/// <c>RetryAfter</c>; a fixed window's refusal says when the window is sure to have reset, at the price that a key may
/// send up to twice its limit across a window boundary.
/// </summary>
public sealed class LocalCounters : IClientKeyCounters, IDisposable
{
    // Partitioned by key and limit, so that a reload that changes a key's limit applies it from the next request on.
    private readonly PartitionedRateLimiter<(string Key, int Limit)> _perMinute = PartitionedRateLimiter.Create<(string Key, int Limit), (string, int)>(
        limit => RateLimitPartition.GetFixedWindowLimiter(limit, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.Limit,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    private readonly PartitionedRateLimiter<(string Key, int Limit)> _concurrent = PartitionedRateLimiter.Create<(string Key, int Limit), (string, int)>(
        limit => RateLimitPartition.GetConcurrencyLimiter(limit, _ => new ConcurrencyLimiterOptions { PermitLimit = limit.Limit, QueueLimit = 0 }));

    /// <summary>Spend by key and period name (<see cref="Budget.PeriodName"/>); periods that ended are dropped as new ones begin.</summary>
    private readonly ConcurrentDictionary<(string Key, string Period), decimal> _spend = new();

    public ValueTask<Admission> AdmitAsync(KeyLimits limits, DateTimeOffset now)
    {
        var key = Normalize(limits.KeyId);
        Spend? spent = null;
        if (limits.Budget is { } budget)
        {
            spent = Spent(key, now);
            if (budget.Exhausted(spent.Value) is not null)
            {
                return ValueTask.FromResult(Admission.Refused(Refusal.Budget, spent));
            }
        }

        if (CountRequest(key, limits.RequestsPerMinute) is { } retryAfter)
        {
            return ValueTask.FromResult(Admission.Refused(Refusal.RequestsPerMinute, spent, retryAfter));
        }

        if (limits.MaxConcurrentRequests is not { } max)
        {
            return ValueTask.FromResult(Admission.Admitted(spent, null));
        }

        var slot = _concurrent.AttemptAcquire((key, max));
        if (!slot.IsAcquired)
        {
            slot.Dispose();
            return ValueTask.FromResult(Admission.Refused(Refusal.ConcurrentRequests, spent));
        }

        return ValueTask.FromResult(Admission.Admitted(spent, () =>
        {
            slot.Dispose();
            return ValueTask.CompletedTask;
        }));
    }

    public ValueTask ChargeAsync(string keyId, decimal usd, DateTimeOffset at)
    {
        var key = Normalize(keyId);
        foreach (var period in Enum.GetValues<BudgetPeriod>())
        {
            var name = Budget.PeriodName(period, at);
            if (_spend.AddOrUpdate((key, name), usd, (_, spent) => spent + usd) == usd)
            {
                DropEndedPeriods(at);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<Spend?> SpentAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Spend?>(Spent(Normalize(keyId), now));

    /// <summary>Counts one request in the key's minute: null when it has room (or no limit), else how long until it has.</summary>
    public TimeSpan? CountRequest(string keyId, int? requestsPerMinute)
    {
        if (requestsPerMinute is not { } limit)
        {
            return null;
        }

        using var lease = _perMinute.AttemptAcquire((Normalize(keyId), limit));
        return lease.IsAcquired ? null : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
    }

    public void Dispose()
    {
        _concurrent.Dispose();
        _perMinute.Dispose();
    }

    /// <summary>Key ids are configuration keys, which match in any case.</summary>
    internal static string Normalize(string keyId) => keyId.ToLowerInvariant();

    private Spend Spent(string key, DateTimeOffset now) => new(
        _spend.GetValueOrDefault((key, Budget.PeriodName(BudgetPeriod.Day, now))),
        _spend.GetValueOrDefault((key, Budget.PeriodName(BudgetPeriod.Month, now))));

    private void DropEndedPeriods(DateTimeOffset now)
    {
        var current = Enum.GetValues<BudgetPeriod>().Select(period => Budget.PeriodName(period, now)).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in _spend.Keys.Where(entry => !current.Contains(entry.Period)))
        {
            _spend.TryRemove(entry, out _);
        }
    }
}
