using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;
using OpenAI.Chat;

namespace MoaGateway.Providers;

/// <summary>
/// One attempt at a streamed upstream call. It holds one of the provider's call slots while it lives, enforces the
/// first-token and whole-call timeouts, and turns every failure into a client-safe <see cref="ProviderException"/>.
/// Its stream ends normally only after a finish reason: a stream that stops without one was cut short.
/// </summary>
internal sealed class ProviderAttempt : IAsyncDisposable
{
    private readonly Provider _provider;
    private readonly AgentSpec _agent;
    private readonly CallProgress _progress;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenSource _deadline;
    private readonly TimeSpan _firstTokenTimeout;
    private readonly TimeSpan _timeout;
    private readonly long _started = Stopwatch.GetTimestamp();
    private PipelineResponse? _response;
    private ChatChunkReader? _chunks;
    private bool _sawFirstDelta;
    private bool _sawFinishReason;

    private ProviderAttempt(Provider provider, AgentSpec agent, CallProgress progress, CancellationToken cancellationToken)
    {
        _provider = provider;
        _agent = agent;
        _progress = progress;
        _cancellationToken = cancellationToken;
        _timeout = agent.Timeout ?? TimeSpan.FromSeconds(provider.Options.TimeoutSeconds);
        _firstTokenTimeout = agent.FirstTokenTimeout ?? TimeSpan.FromSeconds(provider.Options.FirstTokenTimeoutSeconds);
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _deadline.CancelAfter(_firstTokenTimeout < _timeout ? _firstTokenTimeout : _timeout);
    }

    public ChatDelta Current { get; private set; } = null!;

    /// <summary>Sends the request and waits for the first delta, on which the returned attempt is positioned.</summary>
    public static async Task<ProviderAttempt> OpenAsync(
        Provider provider, AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress,
        CancellationToken cancellationToken)
    {
        progress.StartAttempt();
        await provider.CallSlots.WaitAsync(cancellationToken);
        var attempt = new ProviderAttempt(provider, agent, progress, cancellationToken);
        try
        {
            await attempt.SendAsync(messages, options);
            if (!await attempt.MoveNextAsync())
            {
                throw attempt.Counted(new ProviderException($"{agent} failed: the stream ended before its first token.")
                {
                    IsTransient = true,
                    ErrorType = "truncated",
                });
            }

            progress.TimeToFirstToken = Stopwatch.GetElapsedTime(attempt._started);
            return attempt;
        }
        catch
        {
            await attempt.DisposeAsync();
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> MoveNextAsync()
    {
        ChatDelta? delta;
        try
        {
            delta = await _chunks!.ReadAsync(_deadline.Token);
        }
        catch (Exception exception) when (Translate(exception, sending: false) is { } failure)
        {
            throw Counted(failure);
        }

        if (delta is null)
        {
            return _sawFinishReason || !_sawFirstDelta
                ? false
                : throw Counted(new ProviderException($"{_agent} failed: the stream ended without a finish reason.")
                {
                    IsTransient = true,
                    ErrorType = "truncated",
                });
        }

        if (!_sawFirstDelta)
        {
            _sawFirstDelta = true;
            var remaining = _timeout - Stopwatch.GetElapsedTime(_started);
            _deadline.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        }

        _progress.Received(delta);
        _sawFinishReason |= delta.FinishReason is not null;
        Current = delta;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_chunks is not null)
        {
            await _chunks.DisposeAsync();
        }

        // Mid-stream, this closes the connection, which is how the upstream learns to stop generating.
        _response?.Dispose();

        _deadline.Dispose();
        _provider.CallSlots.Release();
    }

    /// <summary>
    /// Sends the request through the SDK, which builds it, authenticates it and turns an error status into an
    /// exception, and keeps the response unread: the events are read by <see cref="ChatChunkReader"/>, not the SDK's
    /// model layer, which builds a JSON document and a tree of model objects for every streamed token.
    /// </summary>
    private async Task SendAsync(IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options)
    {
        try
        {
            var pages = _provider.GetChatClient(_agent.Model).CompleteChatStreamingAsync(messages, options, _deadline.Token).GetRawPagesAsync();
            await foreach (var page in pages.WithCancellation(_deadline.Token))
            {
                _response = page.GetRawResponse();
                break;
            }
        }
        catch (Exception exception) when (Translate(exception, sending: true) is { } failure)
        {
            throw Counted(failure);
        }
        catch (Exception exception) when (!_cancellationToken.IsCancellationRequested)
        {
            // Neither the transport nor the provider failed: the SDK could not write the request, so nothing was sent.
            // The request was validated, so this is the gateway's failure, and never counted against the provider.
            throw new InvalidOperationException($"The gateway could not build its request to {_agent}: {exception.Message}", exception);
        }

        _chunks = new ChatChunkReader(_response?.ContentStream ?? throw Counted(new ProviderException($"{_agent} failed: the response has no body.")
        {
            ErrorType = "malformed_response",
        }));
    }

    private ProviderException Counted(ProviderException failure)
    {
        ProviderTelemetry.UpstreamError(_agent.Provider, _agent.Model, failure.ErrorType);
        return failure;
    }

    /// <summary>
    /// A client-safe failure for <paramref name="exception"/>; null lets the caller's own cancellation through, and,
    /// while <paramref name="sending"/>, anything that is no transport or status failure (the SDK writing the request).
    /// </summary>
    private ProviderException? Translate(Exception exception, bool sending)
    {
        if (_cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (exception is OperationCanceledException or TimeoutException)
        {
            if (!_deadline.IsCancellationRequested)
            {
                return ProviderFailures.ConnectTimedOut(_agent.ToString(), exception);
            }

            var message = !_sawFirstDelta && _firstTokenTimeout < _timeout
                ? $"{_agent} sent no first token within {_firstTokenTimeout.TotalSeconds:0.###} s."
                : $"{_agent} did not answer within {_timeout.TotalSeconds:0.###} s.";
            return new ProviderException(message, ProviderFailure.Timeout, exception)
            {
                IsTransient = !_sawFirstDelta,
                ErrorType = !_sawFirstDelta && _firstTokenTimeout < _timeout ? "first_token_timeout" : "timeout",
            };
        }

        return exception switch
        {
            ClientResultException { Status: > 0 } result => new ProviderException(
                $"{_agent} failed: {_provider.Redact($"HTTP {result.Status}{ErrorMessage(result)}")}", ProviderFailure.Error, exception)
            {
                IsTransient = ProviderFailures.IsTransientStatus(result.Status),
                RetryAfter = RetryAfter(result),
                ErrorType = $"http_{result.Status}",
            },
            ClientResultException { InnerException: { } inner } => ConnectionFailed(inner),
            UpstreamStreamErrorException streamError => new ProviderException(
                $"{_agent} failed: error in the stream: {_provider.Redact(streamError.Message)}", ProviderFailure.Error, exception)
            {
                IsTransient = true,
                ErrorType = "stream_error",
            },
            HttpRequestException or IOException => ConnectionFailed(exception),
            _ when sending => null,
            _ => new ProviderException($"{_agent} failed: unreadable response: {_provider.Redact(exception.Message)}", ProviderFailure.Error, exception)
            {
                ErrorType = "malformed_response",
            },
        };
    }

    private ProviderException ConnectionFailed(Exception exception) => ProviderFailures.ConnectionFailed(_agent.ToString(), _provider, exception);

    private static string ErrorMessage(ClientResultException exception)
    {
        try
        {
            var content = exception.GetRawResponse()?.Content;
            if (content is null)
            {
                return string.Empty;
            }

            using var document = JsonDocument.Parse(content);
            return document.RootElement.ValueKind == JsonValueKind.Object &&
                   document.RootElement.TryGetProperty("error", out var error) &&
                   error.ValueKind == JsonValueKind.Object &&
                   error.TryGetProperty("message", out var message) &&
                   message.ValueKind == JsonValueKind.String
                ? $": {message.GetString()}"
                : string.Empty;
        }
        catch (JsonException)
        {
            return string.Empty;
        }
    }

    private static TimeSpan? RetryAfter(ClientResultException exception)
    {
        var headers = exception.GetRawResponse()?.Headers;
        return headers is null
            ? null
            : ProviderFailures.RetryAfter(
                headers.TryGetValue("retry-after-ms", out var milliseconds) ? milliseconds : null,
                headers.TryGetValue("Retry-After", out var value) ? value : null);
    }
}
