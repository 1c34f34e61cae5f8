using MoaGateway.Configuration;

namespace MoaGateway.SharedState;

/// <summary>
/// The counters each configuration uses: this process's memory, kept across reloads, or the Redis that
/// <c>MoaGateway:SharedState</c> names, one connection per distinct setting. A reload that changes the setting retires
/// the previous connection, which closes once the slots it holds are given back.
/// </summary>
public sealed class SharedStore(ILogger<RedisCounters> logger, TimeProvider time) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<RedisCounters> _retired = [];
    private RedisCounters? _current;

    public LocalCounters Local { get; } = new();

    /// <summary>The counters for <paramref name="options"/>: the same object as long as the setting does not change.</summary>
    public IClientKeyCounters For(SharedStateOptions options)
    {
        lock (_gate)
        {
            if (_current is { } current && SameSetting(current.Options, options))
            {
                return current;
            }

            if (_current is not null)
            {
                _current.Retire();
                _retired.Add(_current);
                _current = null;
            }

            if (string.IsNullOrEmpty(options.Redis))
            {
                return Local;
            }

            return _current = new RedisCounters(options, Local, logger, time);
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<RedisCounters> all;
        lock (_gate)
        {
            all = [.. _retired, .. _current is null ? [] : new[] { _current }];
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
