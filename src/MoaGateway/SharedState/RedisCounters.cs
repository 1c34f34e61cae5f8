using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using MoaGateway.Configuration;
using MoaGateway.Costs;
using StackExchange.Redis;

namespace MoaGateway.SharedState;

/// <summary>
/// Counts in Redis, shared by every replica: each request's budget check, minute count and slot in one atomic script.
/// Slots are leases that this replica renews while it holds them, so the slots of a replica that dies expire after
/// <see cref="SharedStateOptions.LeaseSeconds"/>. Every call is bounded by <see cref="SharedStateOptions.TimeoutMs"/>.
/// While Redis does not answer, requests are counted in this replica (fail open: its minute in memory, its own slots,
/// the spend Redis last reported plus what it charged since) or refused (fail closed); charges made meanwhile are kept
/// and stored, and the slots held registered, as soon as Redis answers again.
/// </summary>
public sealed partial class RedisCounters : IClientKeyCounters, IAsyncDisposable
{
    private const int MinuteKeySeconds = 120;
    private const int DayKeySeconds = 2 * 24 * 3600;
    private const int MonthKeySeconds = 32 * 24 * 3600;
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly ConfigurationOptions _configuration;
    private readonly LocalCounters _local;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _lease;
    private readonly Lock _connecting = new();
    private readonly ConcurrentDictionary<Slot, byte> _slots = new();
    private readonly ConcurrentQueue<Charge> _pending = new();
    private readonly ConcurrentDictionary<string, LastKnownSpend> _lastKnown = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _resynchronising = new(1, 1);
    private Task<ConnectionMultiplexer>? _connection;
    private Task? _maintenance;
    private volatile bool _available = true;
    private volatile bool _retired;
    private long _lastWarning = long.MinValue;
    private int _closed;

    public RedisCounters(SharedStateOptions options, LocalCounters local, ILogger<RedisCounters> logger, TimeProvider time)
    {
        Options = options;
        _local = local;
        _logger = logger;
        _time = time;
        _timeout = TimeSpan.FromMilliseconds(options.TimeoutMs);
        _lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        _configuration = ConfigurationOptions.Parse(options.Redis!);
        _configuration.AbortOnConnectFail = false;
        // A command sent while disconnected fails at once instead of waiting in a queue for the connection to return.
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _configuration.AsyncTimeout = _configuration.SyncTimeout = (int)Math.Ceiling(options.TimeoutMs);
        _configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 5000);
        Endpoints = string.Join(", ", _configuration.EndPoints.Select(endpoint => endpoint is DnsEndPoint dns ? $"{dns.Host}:{dns.Port}" : endpoint.ToString()));
    }

    /// <summary>The settings these counters were made for; a reload that changes them gets counters of its own.</summary>
    public SharedStateOptions Options { get; }

    /// <summary>The Redis servers, as logs and <c>/readyz</c> name them (never the password).</summary>
    public string Endpoints { get; }

    /// <summary>False from a call Redis did not answer until it answers again.</summary>
    public bool Available => _available;

    public async ValueTask<Admission> AdmitAsync(KeyLimits limits, DateTimeOffset now)
    {
        StartMaintenance();
        var key = LocalCounters.Normalize(limits.KeyId);
        var slot = limits.MaxConcurrentRequests is null ? null : new Slot(key, Guid.NewGuid().ToString("N"));
        if (_available)
        {
            try
            {
                var result = (RedisResult[])(await CallAsync(database => database.ScriptEvaluateAsync(
                    RedisScripts.Admit,
                    [SpendKey(key, BudgetPeriod.Day, now), SpendKey(key, BudgetPeriod.Month, now), MinuteKey(key, now), SlotsKey(key)],
                    [
                        Nanos(limits.Budget?.UsdPerDay), Nanos(limits.Budget?.UsdPerMonth), limits.RequestsPerMinute ?? 0, MinuteKeySeconds,
                        limits.MaxConcurrentRequests ?? 0, (long)_lease.TotalMilliseconds, slot?.Id ?? "",
                    ])))!;
                var spent = new Spend(Usd.FromNanos((long)result[1]), Usd.FromNanos((long)result[2]));
                _lastKnown[key] = new LastKnownSpend(Budget.PeriodName(BudgetPeriod.Day, now), Budget.PeriodName(BudgetPeriod.Month, now), spent);
                return (int)result[0] switch
                {
                    0 => Admitted(slot, limits.Budget is null ? null : spent),
                    1 => Admission.Refused(Refusal.Budget, spent),
                    2 => Admission.Refused(Refusal.RequestsPerMinute, limits.Budget is null ? null : spent, UntilNextMinute(now)),
                    _ => Admission.Refused(Refusal.ConcurrentRequests, limits.Budget is null ? null : spent),
                };
            }
            catch (Exception exception) when (IsRedisFailure(exception))
            {
                Failed("admit", exception);
            }
        }

        return Options.FailClosed ? Admission.Refused(Refusal.Unavailable) : AdmitLocally(key, limits, slot, now);
    }

    public async ValueTask ChargeAsync(string keyId, decimal usd, DateTimeOffset at)
    {
        StartMaintenance();
        var charge = new Charge(LocalCounters.Normalize(keyId), Usd.ToNanos(usd), at);
        if (!_available || !await TryStoreAsync(charge))
        {
            _pending.Enqueue(charge);
        }
    }

    public async ValueTask<Spend?> SpentAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        StartMaintenance();
        var key = LocalCounters.Normalize(keyId);
        if (_available)
        {
            try
            {
                var values = await CallAsync(database => database.StringGetAsync([SpendKey(key, BudgetPeriod.Day, now), SpendKey(key, BudgetPeriod.Month, now)]));
                var spent = new Spend(Usd.FromNanos((long?)values[0] ?? 0), Usd.FromNanos((long?)values[1] ?? 0));
                _lastKnown[key] = new LastKnownSpend(Budget.PeriodName(BudgetPeriod.Day, now), Budget.PeriodName(BudgetPeriod.Month, now), spent);
                return spent + PendingSpend(key, now);
            }
            catch (Exception exception) when (IsRedisFailure(exception))
            {
                Failed("spend", exception);
            }
        }

        return Options.FailClosed ? null : LocalSpend(key, now);
    }

    /// <summary>Asks Redis for a <c>PING</c>; an answer ends an outage at once. What <c>/readyz</c> reports.</summary>
    public async Task<(bool Answered, string Description)> ProbeAsync()
    {
        StartMaintenance();
        try
        {
            var latency = await CallAsync(database => database.PingAsync());
            await RecoverAsync();
            return (true, string.Create(CultureInfo.InvariantCulture, $"Redis at {Endpoints} answers ({latency.TotalMilliseconds:0.0} ms)"));
        }
        catch (Exception exception) when (IsRedisFailure(exception))
        {
            Failed("probe", exception);
            var mode = Options.FailClosed
                ? "requests of keys with limits or budgets are refused (fail closed)"
                : "limits and budgets are counted by this replica alone (fail open)";
            return (false, $"Redis at {Endpoints} does not answer ({Reason(exception)}): {mode}");
        }
    }

    /// <summary>No longer used by any configuration or request: closes once the charges it keeps are stored.</summary>
    public void Retire() => _retired = true;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_maintenance is not null)
        {
            await _maintenance;
        }

        // One last try for charges that could not be stored yet.
        await ResynchroniseAsync(FlushPendingAsync);
        await CloseAsync();
        _stopping.Dispose();
        _resynchronising.Dispose();
    }

    private static bool IsRedisFailure(Exception exception) => exception is RedisException or TimeoutException;

    private static RedisValue Nanos(decimal? usd) => usd is { } amount ? Usd.ToNanos(amount) : -1;

    private static RedisKey SpendKey(string key, BudgetPeriod period, DateTimeOffset at) => $"moagateway:{{{key}}}:usd:{Budget.PeriodName(period, at)}";

    private static RedisKey MinuteKey(string key, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"moagateway:{{{key}}}:minute:{now.ToUnixTimeSeconds() / 60}");

    private static RedisKey SlotsKey(string key) => $"moagateway:{{{key}}}:slots";

    /// <summary>The minute is this replica's clock's: replicas whose clocks differ by a second still never admit more than the limit into one minute's count.</summary>
    private static TimeSpan UntilNextMinute(DateTimeOffset now) => TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60));

    private Admission Admitted(Slot? slot, Spend? spent)
    {
        if (slot is null)
        {
            return Admission.Admitted(spent, null);
        }

        _slots[slot] = 0;
        return Admission.Admitted(spent, () => ReleaseAsync(slot));
    }

    private Admission AdmitLocally(string key, KeyLimits limits, Slot? slot, DateTimeOffset now)
    {
        Spend? spent = null;
        if (limits.Budget is { } budget)
        {
            spent = LocalSpend(key, now);
            if (budget.Exhausted(spent.Value) is not null)
            {
                return Admission.Refused(Refusal.Budget, spent);
            }
        }

        if (_local.CountRequest(key, limits.RequestsPerMinute) is { } retryAfter)
        {
            return Admission.Refused(Refusal.RequestsPerMinute, spent, retryAfter);
        }

        // The slots this replica holds, taken through Redis before the outage or since: all it can know of.
        return slot is not null && _slots.Keys.Count(held => held.Key == key) >= limits.MaxConcurrentRequests
            ? Admission.Refused(Refusal.ConcurrentRequests, spent)
            : Admitted(slot, spent);
    }

    private async ValueTask ReleaseAsync(Slot slot)
    {
        _slots.TryRemove(slot, out _);
        if (!_available)
        {
            // Redis expires it; were it taken in this replica alone, it is not there at all.
            return;
        }

        try
        {
            await CallAsync(database => database.SortedSetRemoveAsync(SlotsKey(slot.Key), slot.Id));
        }
        catch (Exception exception) when (IsRedisFailure(exception))
        {
            Failed("release", exception);
        }
    }

    private async Task<bool> TryStoreAsync(Charge charge)
    {
        try
        {
            var result = (RedisResult[])(await CallAsync(database => database.ScriptEvaluateAsync(
                RedisScripts.Charge,
                [SpendKey(charge.Key, BudgetPeriod.Day, charge.At), SpendKey(charge.Key, BudgetPeriod.Month, charge.At)],
                [charge.Nanos, DayKeySeconds, MonthKeySeconds])))!;
            _lastKnown[charge.Key] = new LastKnownSpend(
                Budget.PeriodName(BudgetPeriod.Day, charge.At),
                Budget.PeriodName(BudgetPeriod.Month, charge.At),
                new Spend(Usd.FromNanos((long)result[0]), Usd.FromNanos((long)result[1])));
            return true;
        }
        catch (Exception exception) when (IsRedisFailure(exception))
        {
            Failed("charge", exception);
            return false;
        }
    }

    /// <summary>What the key spent as far as this replica knows: Redis's last answer for the current periods, plus what it charged since Redis stopped answering.</summary>
    private Spend LocalSpend(string key, DateTimeOffset now)
    {
        var known = _lastKnown.TryGetValue(key, out var last) ? last : default;
        var day = known.Day == Budget.PeriodName(BudgetPeriod.Day, now) ? known.Spent.Day : 0;
        var month = known.Month == Budget.PeriodName(BudgetPeriod.Month, now) ? known.Spent.Month : 0;
        return new Spend(day, month) + PendingSpend(key, now);
    }

    private Spend PendingSpend(string key, DateTimeOffset now)
    {
        var day = Budget.PeriodName(BudgetPeriod.Day, now);
        var month = Budget.PeriodName(BudgetPeriod.Month, now);
        long dayNanos = 0, monthNanos = 0;
        foreach (var charge in _pending.Where(charge => charge.Key == key))
        {
            dayNanos += Budget.PeriodName(BudgetPeriod.Day, charge.At) == day ? charge.Nanos : 0;
            monthNanos += Budget.PeriodName(BudgetPeriod.Month, charge.At) == month ? charge.Nanos : 0;
        }

        return new Spend(Usd.FromNanos(dayNanos), Usd.FromNanos(monthNanos));
    }

    /// <summary>Runs one Redis call within the timeout, however Redis behaves: connecting, slow, or gone.</summary>
    private async Task<T> CallAsync<T>(Func<IDatabase, Task<T>> call)
    {
        async Task<T> Run() => await call((await ConnectionAsync()).GetDatabase());
        return await Run().WaitAsync(_timeout, _time);
    }

    private Task<ConnectionMultiplexer> ConnectionAsync()
    {
        lock (_connecting)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled)
            {
                _connection = ConnectionMultiplexer.ConnectAsync(_configuration);
            }

            return _connection;
        }
    }

    private void Failed(string operation, Exception exception)
    {
        SharedStateTelemetry.Failure(operation, exception is TimeoutException ? "timeout" : exception is RedisConnectionException ? "connection" : "error");
        _available = false;
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarning);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= WarningInterval) && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            if (Options.FailClosed)
            {
                LogUnavailableFailingClosed(_logger, Endpoints, operation, Reason(exception));
            }
            else
            {
                LogUnavailableFailingOpen(_logger, Endpoints, operation, Reason(exception));
            }
        }
    }

    private string Reason(Exception exception)
    {
        var reason = exception is TimeoutException ? $"no answer within {_timeout.TotalMilliseconds:0} ms" : exception.Message;
        return _configuration.Password is { Length: > 0 } password ? reason.Replace(password, "[redacted]", StringComparison.Ordinal) : reason;
    }

    private void StartMaintenance()
    {
        if (_maintenance is null)
        {
            lock (_connecting)
            {
                _maintenance ??= Task.Run(MaintainAsync);
            }
        }
    }

    /// <summary>Renews the slots held, probes Redis while it does not answer, and closes a retired connection once it has nothing left to give back.</summary>
    private async Task MaintainAsync()
    {
        var renewEvery = _lease / 3;
        var sinceRenewal = TimeSpan.Zero;
        try
        {
            while (!(_retired && _slots.IsEmpty && _pending.IsEmpty))
            {
                var wait = _available ? renewEvery : ProbeInterval;
                await Task.Delay(wait, _time, _stopping.Token);
                sinceRenewal += wait;
                if (!_available)
                {
                    await ProbeAsync();
                }
                else if (sinceRenewal >= renewEvery)
                {
                    sinceRenewal = TimeSpan.Zero;
                    await ResynchroniseAsync(async () => await RenewAsync(_slots.Keys.ToList(), "XX") && await FlushPendingAsync());
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }

        await CloseAsync();
    }

    /// <summary>Closes the connection, once: after retirement, or at shutdown, whichever comes first.</summary>
    private async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0 && _connection is { IsCompletedSuccessfully: true } connected)
        {
            await connected.Result.DisposeAsync();
        }
    }

    /// <summary>After an outage: every slot held goes (back) into Redis, and every charge kept is stored, before Redis counts again for this replica.</summary>
    private async Task RecoverAsync()
    {
        if (_available)
        {
            return;
        }

        await ResynchroniseAsync(async () =>
        {
            var slots = _slots.Keys.ToList();
            if (_available || !await RenewAsync(slots, "CH") || !await FlushPendingAsync())
            {
                return false;
            }

            _available = true;
            LogAvailableAgain(_logger, Endpoints, slots.Count);
            return true;
        });
    }

    /// <summary>One renewal, flush or recovery at a time, so that no kept charge is stored twice.</summary>
    private async Task ResynchroniseAsync(Func<Task<bool>> work)
    {
        await _resynchronising.WaitAsync();
        try
        {
            await work();
        }
        finally
        {
            _resynchronising.Release();
        }
    }

    private async Task<bool> RenewAsync(List<Slot> slots, string mode)
    {
        try
        {
            foreach (var key in slots.GroupBy(slot => slot.Key))
            {
                await CallAsync(database => database.ScriptEvaluateAsync(
                    RedisScripts.Renew, [SlotsKey(key.Key)], [(long)_lease.TotalMilliseconds, mode, .. key.Select(slot => (RedisValue)slot.Id)]));
            }

            return true;
        }
        catch (Exception exception) when (IsRedisFailure(exception))
        {
            Failed("renew", exception);
            return false;
        }
    }

    /// <summary>Stores the charges kept while Redis did not answer, oldest first; false when Redis stopped answering again.</summary>
    private async Task<bool> FlushPendingAsync()
    {
        while (_pending.TryPeek(out var charge))
        {
            if (!await TryStoreAsync(charge))
            {
                return false;
            }

            _pending.TryDequeue(out _);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "Shared state: Redis at {Endpoints} did not answer ({Operation}: {Reason}). Client keys' limits and budgets are counted by this replica alone until it answers (fail open); charges are kept and stored then. This warning repeats at most once a minute.")]
    private static partial void LogUnavailableFailingOpen(ILogger logger, string endpoints, string operation, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "Shared state: Redis at {Endpoints} did not answer ({Operation}: {Reason}). Requests of client keys with limits or budgets get 503 until it answers (SharedState:FailClosed); charges are kept and stored then. This warning repeats at most once a minute.")]
    private static partial void LogUnavailableFailingClosed(ILogger logger, string endpoints, string operation, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message =
        "Shared state: Redis at {Endpoints} answers again; the charges kept meanwhile are stored and the {Slots} slot(s) held registered, and limits are shared again.")]
    private static partial void LogAvailableAgain(ILogger logger, string endpoints, int slots);

    /// <summary>One request's concurrency slot, a member of its key's sorted set in Redis.</summary>
    private sealed record Slot(string Key, string Id);

    private readonly record struct Charge(string Key, long Nanos, DateTimeOffset At);

    private readonly record struct LastKnownSpend(string Day, string Month, Spend Spent);
}
