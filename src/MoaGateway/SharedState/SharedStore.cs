using MoaGateway.Configuration;

namespace MoaGateway.SharedState;

/// <summary>
/// The counters each configuration uses: this process's memory, kept across reloads, or the Redis that
/// <c>MoaGateway:SharedState</c> names, one connection per setting. Counters a reload no longer uses are retired by
/// <see cref="Serving.LiveConfiguration"/> once the last request that used them has ended; all close at shutdown.
/// </summary>
public sealed class SharedStore(ILogger<RedisCounters> logger, TimeProvider time) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<RedisCounters> _created = [];
    private RedisCounters? _latest;

    public LocalCounters Local { get; } = new();

    /// <summary>The counters for <paramref name="options"/>: the same object as long as the setting does not change.</summary>
    public IClientKeyCounters For(SharedStateOptions options)
    {
        if (string.IsNullOrEmpty(options.Redis))
        {
            return Local;
        }

        lock (_gate)
        {
            if (_latest is { } latest && SameSetting(latest.Options, options))
            {
                return latest;
            }

            _latest = new RedisCounters(options, Local, logger, time);
            _created.Add(_latest);
            return _latest;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<RedisCounters> all;
        lock (_gate)
        {
            all = [.. _created];
        }

        foreach (var counters in all)
        {
            await counters.DisposeAsync();
        }

        Local.Dispose();
    }

    private static bool SameSetting(SharedStateOptions a, SharedStateOptions b) =>
        a.Redis == b.Redis && a.FailClosed == b.FailClosed && a.TimeoutMs == b.TimeoutMs && a.LeaseSeconds == b.LeaseSeconds;
}
