using System.Diagnostics;
using System.Net.Http.Headers;
using MoaGateway.Moa;
using MoaGateway.Providers;

namespace MoaGateway.Forwarding;

/// <summary>
/// One pass-through forward to a provider model, as the forwarder's HTTP handler: each attempt sends the rewritten body
/// anew under the first-byte and whole-call timeouts, the provider's retries and breakers decide on another, and the
/// last failed answer, if there was one, is relayed as the provider gave it. Once an answer has started, its body is
/// read under the whole-call timeout, and a fault there ends it early as <see cref="Failure"/> instead of an exception
/// the forwarder would answer by resetting the client's connection before the client hears why.
/// </summary>
internal sealed class PassthroughCall : HttpMessageHandler
{
    private const int MaxErrorBodyBytes = 1024 * 1024;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly ReadOnlyMemory<byte> _body;
    private readonly CancellationToken _clientGone;
    private readonly CancellationToken _drainOver;
    private readonly CancellationToken _scope;
    private readonly TimeSpan _firstByteTimeout;
    private readonly TimeSpan _timeout;
    private CancellationTokenSource? _bodyDeadline;
    private HttpResponseMessage? _failedResponse;
    private ProviderException? _failedBy;

    // scope: cancelled when the client goes away (clientGone) or the drain is over (drainOver).
    public PassthroughCall(
        Provider provider, string model, string path, ReadOnlyMemory<byte> body, CancellationToken clientGone, CancellationToken drainOver, CancellationToken scope)
    {
        Provider = provider;
        Model = model;
        Uri = new Uri(provider.BaseUrl, path);
        _body = body;
        _clientGone = clientGone;
        _drainOver = drainOver;
        _scope = scope;
        _timeout = TimeSpan.FromSeconds(provider.Options.TimeoutSeconds);
        _firstByteTimeout = TimeSpan.FromSeconds(provider.Options.FirstTokenTimeoutSeconds);
    }

    public Provider Provider { get; }

    public string Model { get; }

    public Uri Uri { get; }

    public int Attempts { get; private set; }

    /// <summary>Why the forward failed, when the provider or the gateway's timeouts are to blame.</summary>
    public ProviderException? Failure { get; private set; }

    /// <summary>The drain ended the forward before the provider finished.</summary>
    public bool Drained { get; private set; }

    /// <summary>Who failed, as the client addressed it before the slash: the model is the one it asked for.</summary>
    private string Target => Provider.Name;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await Provider.Resilience.ExecuteAsync(Model, token => AttemptAsync(request, token), _scope);
        }
        catch (ProviderException failure) when (ReferenceEquals(failure, _failedBy) && _failedResponse is { } response)
        {
            // Nothing better to say than what the provider said: its status, headers and (redacted) body.
            _failedResponse = null;
            return response;
        }
        catch (ProviderException failure)
        {
            Failure = failure;
            throw;
        }
        catch (OperationCanceledException) when (_drainOver.IsCancellationRequested && !_clientGone.IsCancellationRequested)
        {
            Drained = true;
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bodyDeadline?.Dispose();
            _failedResponse?.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task<HttpResponseMessage> AttemptAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Attempts++;
        var started = Stopwatch.GetTimestamp();
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_firstByteTimeout < _timeout ? _firstByteTimeout : _timeout);
        // The same bytes for every attempt: the client's body was read once, so a retry can send it again.
        request.Content = new ReadOnlyMemoryContent(_body) { Headers = { ContentType = Json } };
        HttpResponseMessage response;
        try
        {
            response = await Provider.Invoker.SendAsync(request, deadline.Token);
        }
        catch (Exception exception) when (Translate(exception, deadline) is { } failure)
        {
            deadline.Dispose();
            throw Counted(failure);
        }
        catch
        {
            deadline.Dispose();
            throw;
        }

        if (response.IsSuccessStatusCode)
        {
            var remaining = _timeout - Stopwatch.GetElapsedTime(started);
            deadline.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            _bodyDeadline = deadline;
            response.Content = new GuardedContent(response.Content, this, deadline.Token);
            return response;
        }

        using (deadline)
        {
            // Errors are small: read whole, up to a bound, so a retry or the relayed error never waits on the connection.
            try
            {
                await response.Content.LoadIntoBufferAsync(MaxErrorBodyBytes, deadline.Token);
            }
            catch (Exception exception) when (Translate(exception, deadline) is { } failure)
            {
                response.Dispose();
                throw Counted(failure);
            }
        }

        var status = (int)response.StatusCode;
        var rejected = Counted(new ProviderException($"{Target} failed: HTTP {status}.")
        {
            IsTransient = ProviderFailures.IsTransientStatus(status),
            RetryAfter = ProviderFailures.RetryAfter(Header(response, "retry-after-ms"), Header(response, "Retry-After")),
            ErrorType = $"http_{status}",
        });
        if (!rejected.IsTransient)
        {
            return response;
        }

        _failedResponse?.Dispose();
        _failedResponse = response;
        _failedBy = rejected;
        throw rejected;
    }

    /// <summary>A fault while reading an answer's body: the body ends here, and the forwarder learns why from <see cref="Failure"/> or <see cref="Drained"/>.</summary>
    private bool EndsBody(Exception exception, CancellationToken deadline)
    {
        if (_clientGone.IsCancellationRequested)
        {
            return false;
        }

        if (_drainOver.IsCancellationRequested)
        {
            Drained = true;
            return true;
        }

        var failure = exception is OperationCanceledException && deadline.IsCancellationRequested
            ? new ProviderException($"{Target} did not answer within {_timeout.TotalSeconds:0.###} s.", ProviderFailure.Timeout, exception) { ErrorType = "timeout" }
            : exception is HttpRequestException or IOException
                ? new ProviderException(
                    $"{Target} failed: the connection broke during the answer: {Provider.Redact(exception.Message)}", ProviderFailure.Error, exception)
                {
                    ErrorType = "connection",
                }
                : null;
        Failure = failure is null ? null : Counted(failure);
        return failure is not null;
    }

    /// <summary>A client-safe failure of an attempt; null lets the client's going away and the drain through as they are.</summary>
    private ProviderException? Translate(Exception exception, CancellationTokenSource deadline)
    {
        if (_scope.IsCancellationRequested)
        {
            return null;
        }

        if (exception is OperationCanceledException or TimeoutException)
        {
            if (!deadline.IsCancellationRequested)
            {
                return ProviderFailures.ConnectTimedOut(Target, exception);
            }

            var firstByte = _firstByteTimeout < _timeout;
            return new ProviderException(
                firstByte
                    ? $"{Target} sent no response within {_firstByteTimeout.TotalSeconds:0.###} s."
                    : $"{Target} did not answer within {_timeout.TotalSeconds:0.###} s.",
                ProviderFailure.Timeout,
                exception)
            {
                IsTransient = true,
                ErrorType = firstByte ? "first_byte_timeout" : "timeout",
            };
        }

        return exception is HttpRequestException or IOException ? ProviderFailures.ConnectionFailed(Target, Provider, exception) : null;
    }

    private ProviderException Counted(ProviderException failure)
    {
        ProviderTelemetry.UpstreamError(Provider.Name, Model, failure.ErrorType);
        return failure;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>An answer's body as the forwarder reads it: under the whole-call deadline, and ending early, never throwing, on a fault of the provider.</summary>
    private sealed class GuardedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly PassthroughCall _call;
        private readonly CancellationToken _deadline;

        public GuardedContent(HttpContent inner, PassthroughCall call, CancellationToken deadline)
        {
            _inner = inner;
            _call = call;
            _deadline = deadline;
            foreach (var (name, values) in inner.Headers)
            {
                Headers.TryAddWithoutValidation(name, values);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            new GuardedStream(await _inner.ReadAsStreamAsync(cancellationToken), _call, _deadline);

        protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => throw new NotSupportedException();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class GuardedStream(Stream inner, PassthroughCall call, CancellationToken deadline) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        /// <summary>Reads under the call's own deadline, which the client's going away and the drain also cancel.</summary>
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, deadline);
            }
            catch (Exception exception) when (call.EndsBody(exception, deadline))
            {
                return 0;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
