namespace MoaGateway.Configuration;

/// <summary>
/// Where client keys' limits and budgets are counted (<c>MoaGateway:SharedState</c>): in each replica's memory, or,
/// with <see cref="Redis"/>, in one Redis that every replica shares.
/// </summary>
public sealed class SharedStateOptions
{
    /// <summary>A StackExchange.Redis configuration string (<c>redis:6379,password=...,ssl=true</c>); unset counts in memory.</summary>
    public string? Redis { get; set; }

    /// <summary>While Redis does not answer, refuse requests that need it with 503 instead of counting in this replica.</summary>
    public bool FailClosed { get; set; }

    /// <summary>Upper bound on any one Redis call; a request never waits longer on Redis than this.</summary>
    public double TimeoutMs { get; set; } = 500;

    /// <summary>How long a concurrency slot outlives the replica that holds it, should the replica die; renewed every third of it.</summary>
    public double LeaseSeconds { get; set; } = 30;
}
