using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Providers;
using MoaGateway.SharedState;

namespace MoaGateway.Serving;

/// <summary>
/// The configuration being served, as a <see cref="ConfigurationSnapshot"/> replaced whole when a reload is valid. A
/// refused reload leaves the current snapshot serving and is kept in <see cref="Refused"/> until a valid one arrives.
/// A provider is disposed, and a shared state's Redis connection retired, only when no snapshot that holds it is
/// current or still serving a request.
/// </summary>
public sealed class LiveConfiguration : IDisposable
{
    private readonly ConfigurationLoader _loader;
    private readonly TimeProvider _time;
    private readonly Lock _reloading = new();
    private readonly Lock _providers = new();

    /// <summary>For each provider object, how many snapshots (current, or still serving requests) hold it.</summary>
    private readonly Dictionary<Provider, int> _providerHolds = new(ReferenceEqualityComparer.Instance);

    /// <summary>Likewise for each Redis connection of the shared state, retired when no snapshot holds it.</summary>
    private readonly Dictionary<RedisCounters, int> _counterHolds = new(ReferenceEqualityComparer.Instance);

    private ConfigurationSnapshot _current;
    private RefusedReload? _refused;

    public LiveConfiguration(ConfigurationLoader loader, TimeProvider time)
    {
        _loader = loader;
        _time = time;
        _current = loader.Load(1, null);
        HoldProviders(_current);
        StartupOptions = _current.Options;
    }

    public ConfigurationSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The options the gateway started with, for host settings that apply only at start-up (listen addresses, drain time).</summary>
    public GatewayOptions StartupOptions { get; }

    /// <summary>The last reload, when it was refused and no valid one has come since; null otherwise.</summary>
    public RefusedReload? Refused => Volatile.Read(ref _refused);

    /// <summary>The current snapshot, held until the lease is disposed: its providers stay usable until then.</summary>
    public Lease Acquire()
    {
        while (true)
        {
            var snapshot = Current;
            if (snapshot.TryHold())
            {
                return new Lease(this, snapshot);
            }
        }
    }

    /// <summary>
    /// Loads the configuration afresh. A valid one becomes current for the requests that start afterwards; providers
    /// whose settings did not change carry over as they are. Returns the problems of an invalid one, which is refused.
    /// </summary>
    public IReadOnlyList<string> Reload()
    {
        lock (_reloading)
        {
            var previous = Current;
            ConfigurationSnapshot next;
            try
            {
                next = _loader.Load(previous.Generation + 1, previous);
            }
            catch (OptionsValidationException exception)
            {
                var refused = new RefusedReload(_time.GetUtcNow(), [.. exception.Failures]);
                if (Interlocked.Exchange(ref _refused, refused) is null)
                {
                    ConfigurationTelemetry.ReloadRefusedChanged(true);
                }

                return refused.Problems;
            }

            HoldProviders(next);
            Volatile.Write(ref _current, next);
            Release(previous);
            if (Interlocked.Exchange(ref _refused, null) is not null)
            {
                ConfigurationTelemetry.ReloadRefusedChanged(false);
            }

            return [];
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _refused, null) is not null)
        {
            ConfigurationTelemetry.ReloadRefusedChanged(false);
        }

        Release(Current);
    }

    private void HoldProviders(ConfigurationSnapshot snapshot)
    {
        lock (_providers)
        {
            foreach (var provider in snapshot.Providers.All)
            {
                _providerHolds[provider] = _providerHolds.GetValueOrDefault(provider) + 1;
            }

            if (snapshot.Counters is RedisCounters counters)
            {
                _counterHolds[counters] = _counterHolds.GetValueOrDefault(counters) + 1;
            }
        }
    }

    private void Release(ConfigurationSnapshot snapshot)
    {
        if (!snapshot.Release())
        {
            return;
        }

        lock (_providers)
        {
            foreach (var provider in snapshot.Providers.All)
            {
                if (--_providerHolds[provider] == 0)
                {
                    _providerHolds.Remove(provider);
                    provider.Dispose();
                }
            }

            if (snapshot.Counters is RedisCounters counters && --_counterHolds[counters] == 0)
            {
                _counterHolds.Remove(counters);
                counters.Retire();
            }
        }
    }

    /// <summary>A request's hold on the snapshot it started with.</summary>
    public sealed class Lease(LiveConfiguration live, ConfigurationSnapshot snapshot) : IDisposable
    {
        private int _disposed;

        public ConfigurationSnapshot Snapshot => snapshot;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                live.Release(snapshot);
            }
        }
    }
}
