using System.Net;
using MoaGateway.Api;
using MoaGateway.Moa;
using MoaGateway.Providers;
using Yarp.ReverseProxy.Forwarder;

namespace MoaGateway.Forwarding;

/// <summary>
/// Relays a request for one provider model on YARP's forwarder and streams the answer back as it arrives, on the same
/// road to the provider as an agent call: one of its call slots for the whole forward, its timeouts, retries before the
/// first byte, breakers, error metrics and a span, and the end of the shutdown drain.
/// </summary>
internal sealed class PassthroughForwarder(IHttpForwarder forwarder)
{
    /// <summary>
    /// Sends <paramref name="body"/> to <paramref name="model"/> at the provider's <paramref name="path"/> and relays the
    /// answer, the provider's key redacted in every byte and header. Returns null when the answer was relayed whole (or
    /// the client left), else why not: if the response has started by then, the caller must end it as cut off (an error
    /// event, then an aborted connection), so a cut-off answer never looks complete. An event stream that ends without
    /// <c>data: [DONE]</c> is such a failure.
    /// </summary>
    public async Task<OpenAiError?> ForwardAsync(
        HttpContext context, Provider provider, string model, string path, byte[] body, CancellationToken drainOver)
    {
        var clientGone = context.RequestAborted;
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(clientGone, drainOver);
        using var span = ProviderTelemetry.StartForward(provider.Name, model, path);
        try
        {
            await provider.CallSlots.WaitAsync(scope.Token);
        }
        catch (OperationCanceledException) when (!clientGone.IsCancellationRequested)
        {
            return OpenAiError.ShuttingDown();
        }

        using var call = new PassthroughCall(provider, model, path, body, clientGone, drainOver, scope.Token);
        var transformer = new PassthroughTransformer(call);
        try
        {
            using var invoker = new HttpMessageInvoker(call, disposeHandler: false);
            var error = await forwarder.SendAsync(context, provider.BaseUrl.AbsoluteUri, invoker, Config(provider), transformer, CancellationToken.None);
            var outcome = await OutcomeAsync(context, call, transformer, error);
            ProviderTelemetry.CompleteForward(span, transformer.Status, call.Attempts, outcome.ErrorType);
            return outcome.Error;
        }
        finally
        {
            transformer.RestoreBody(context);
            provider.CallSlots.Release();
        }
    }

    /// <summary>
    /// HTTP/1.1, as the SDK's calls on the same pool speak, rather than YARP's default of HTTP/2 where the provider
    /// offers it. The call's own timeouts govern, so YARP's idle timer is set beyond the longest silence they allow:
    /// every attempt waiting its whole-call timeout, and the longest wait between attempts. It is not switched off
    /// (an infinite timeout): measured, that added 1.6 ms to a streamed answer at concurrency 1.
    /// </summary>
    private static ForwarderRequestConfig Config(Provider provider)
    {
        var options = provider.Options;
        var betweenAttempts = Math.Max(options.Retry.MaxRetryAfterSeconds, options.Retry.MaxDelayMs / 1000);
        return new()
        {
            ActivityTimeout = TimeSpan.FromSeconds((options.Retry.MaxRetries + 1) * (options.TimeoutSeconds + betweenAttempts) + 1),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }

    private static async Task<(OpenAiError? Error, string? ErrorType)> OutcomeAsync(
        HttpContext context, PassthroughCall call, PassthroughTransformer transformer, ForwarderError error)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return (null, "client_gone");
        }

        if (call.Failure is { } failure)
        {
            return (OpenAiError.FromProvider(failure), failure.ErrorType);
        }

        if (call.Drained)
        {
            return (OpenAiError.ShuttingDown(), "shutdown");
        }

        if (error != ForwarderError.None || transformer.Relayed is not { } relayed)
        {
            return Counted(new ProviderException($"{call.Provider.Name} failed: {error}.") { ErrorType = "error" });
        }

        // A clean end of the connection is no complete answer: only the marker says the provider finished. What the
        // redactor holds back then is at most the start of a key in an unfinished line, and stays behind.
        if (transformer.IsEventStream && !relayed.EndedWithDone)
        {
            return Counted(new ProviderException(
                $"{call.Provider.Name} failed: its event stream ended without data: [DONE], so the answer may be incomplete.")
            {
                ErrorType = "truncated",
            });
        }

        await relayed.CompleteAsync(context.RequestAborted);
        return (null, transformer.Status is >= 400 ? $"http_{transformer.Status}" : null);

        // A failure the call itself did not see, found in the relay's outcome: counted here.
        (OpenAiError? Error, string? ErrorType) Counted(ProviderException failure)
        {
            ProviderTelemetry.UpstreamError(call.Provider.Name, call.Model, failure.ErrorType);
            return (OpenAiError.FromProvider(failure), failure.ErrorType);
        }
    }
}
