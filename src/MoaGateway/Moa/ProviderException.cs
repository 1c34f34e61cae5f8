namespace MoaGateway.Moa;

public enum ProviderFailure
{
    /// <summary>The upstream answered with an error, broke the connection, or sent something unreadable.</summary>
    Error,

    /// <summary>The upstream did not answer in time.</summary>
    Timeout,
}

/// <summary>A call to a provider failed. The message is safe to show to clients: it never contains credentials.</summary>
public sealed class ProviderException(
    string message, ProviderFailure failure = ProviderFailure.Error, Exception? innerException = null) : Exception(message, innerException)
{
    public ProviderFailure Failure { get; } = failure;

    /// <summary>Worth retrying: rate limited, a server error, a broken connection, no first token in time.</summary>
    public bool IsTransient { get; init; }

    /// <summary>No connection could be made (refused, name not resolved, TLS, connect timeout): a fault of the provider as a whole, not of a model.</summary>
    public bool IsConnectFailure { get; init; }

    /// <summary>A short, stable name of the failure for metrics and spans (<c>http_503</c>, <c>timeout</c>, <c>connection</c>...).</summary>
    public string ErrorType { get; init; } = "error";

    /// <summary>How long the upstream asked to be left alone (its <c>Retry-After</c>).</summary>
    public TimeSpan? RetryAfter { get; init; }
}
