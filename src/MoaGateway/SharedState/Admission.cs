using MoaGateway.Costs;

namespace MoaGateway.SharedState;

/// <summary>Why the counters refused a request.</summary>
public enum Refusal
{
    None,

    /// <summary>The key has spent its day's or its month's budget.</summary>
    Budget,

    RequestsPerMinute,

    ConcurrentRequests,

    /// <summary>The shared store did not answer, and the gateway fails closed.</summary>
    Unavailable,
}

/// <summary>The counters' answer to one request: admitted, holding one of its key's slots until disposed, or refused and why.</summary>
public sealed class Admission : IAsyncDisposable
{
    private Func<ValueTask>? _release;

    private Admission(Refusal refusal, Spend? spent, TimeSpan retryAfter, Func<ValueTask>? release)
    {
        Refusal = refusal;
        Spent = spent;
        RetryAfter = retryAfter;
        _release = release;
    }

    public Refusal Refusal { get; }

    /// <summary>The key's spend when its budget was checked; null when it was not.</summary>
    public Spend? Spent { get; }

    /// <summary>For <see cref="Refusal.RequestsPerMinute"/>: when the key's minute is sure to have room again.</summary>
    public TimeSpan RetryAfter { get; }

    /// <param name="spent">The spend the budget was checked against, if it was.</param>
    /// <param name="release">Gives back the slot taken; null when none was.</param>
    public static Admission Admitted(Spend? spent, Func<ValueTask>? release) => new(Refusal.None, spent, TimeSpan.Zero, release);

    public static Admission Refused(Refusal refusal, Spend? spent = null, TimeSpan retryAfter = default) => new(refusal, spent, retryAfter, null);

    /// <summary>Gives back the slot, once, however the request ended.</summary>
    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _release, null)?.Invoke() ?? ValueTask.CompletedTask;
}
