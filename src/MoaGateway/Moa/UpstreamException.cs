namespace MoaGateway.Moa;

public enum UpstreamFailure
{
    /// <summary>The upstream answered with an error, broke the connection, or sent something unreadable.</summary>
    Error,

    /// <summary>The upstream did not answer in time.</summary>
    Timeout,
}

/// <summary>An upstream call failed. The message is safe to show to clients: it never contains credentials.</summary>
public sealed class UpstreamException : Exception
{
    public UpstreamException(string message, UpstreamFailure failure = UpstreamFailure.Error, Exception? innerException = null)
        : base(message, innerException) => Failure = failure;

    public UpstreamFailure Failure { get; }
}
