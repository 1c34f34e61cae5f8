namespace MoaGateway.Api;

/// <summary>The ways one chat request can be cut short: its client going away, its deadline, or the end of the shutdown drain.</summary>
internal sealed class RequestScope : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationToken _clientGone;
    private readonly CancellationToken _drainOver;
    private readonly TimeSpan _deadline;

    public RequestScope(TimeSpan deadline, CancellationToken clientGone, CancellationToken drainOver)
    {
        _clientGone = clientGone;
        _drainOver = drainOver;
        _deadline = deadline;
        _source = CancellationTokenSource.CreateLinkedTokenSource(clientGone, drainOver);
        _source.CancelAfter(deadline);
    }

    /// <summary>Cancels the request's upstream work for any of the three reasons.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Cancels writes to the client: only the client going away makes them pointless.</summary>
    public CancellationToken ClientGone => _clientGone;

    /// <summary>Why the request was cut short, as a failure the client should hear of; null when the client itself went away.</summary>
    public OpenAiError? Failure => _clientGone.IsCancellationRequested || !_source.IsCancellationRequested
        ? null
        : _drainOver.IsCancellationRequested
            ? OpenAiError.ShuttingDown()
            : OpenAiError.DeadlinePassed(_deadline);

    public void Dispose() => _source.Dispose();
}
