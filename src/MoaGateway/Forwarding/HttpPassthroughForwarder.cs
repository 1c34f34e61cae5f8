using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Features;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;
using MoaGateway.Providers;

namespace MoaGateway.Forwarding;

/// <summary>A streaming forwarder on the provider's pooled <see cref="HttpClient"/>.</summary>
public sealed class HttpPassthroughForwarder : IPassthroughForwarder
{
    private const int BufferSize = 16 * 1024;

    private const int MaxErrorBodyBytes = 1024 * 1024;

    public async Task ForwardAsync(
        HttpContext context, Provider provider, string path, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(provider.BaseUrl, path))
        {
            Content = new ReadOnlyMemoryContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (context.Request.Headers.Accept.ToString() is { Length: > 0 } accept)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        provider.Authorize(request);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(provider.Options.TimeoutSeconds));

        HttpResponseMessage upstreamResponse;
        try
        {
            upstreamResponse = await provider.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }
        catch (Exception exception) when (Failure(provider, "connection failed", exception, cancellationToken) is { } failure)
        {
            throw failure;
        }

        using (upstreamResponse)
        {
            var content = upstreamResponse.Content;
            if (!upstreamResponse.IsSuccessStatusCode)
            {
                // Errors are small: read whole, up to a bound, before anything is sent, so that failing to read one is still a clean 502.
                try
                {
                    await content.LoadIntoBufferAsync(MaxErrorBodyBytes, deadline.Token);
                }
                catch (Exception exception) when (Failure(provider, "unreadable error", exception, cancellationToken) is { } failure)
                {
                    throw failure;
                }
            }

            context.Response.StatusCode = (int)upstreamResponse.StatusCode;
            RelayedHeaders.Copy(upstreamResponse, context.Response.Headers, provider);
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var isEventStream = upstreamResponse.IsSuccessStatusCode && content.Headers.ContentType?.MediaType == SseWriter.MediaType;
            await RelayBodyAsync(context, provider, content, isEventStream, deadline.Token, cancellationToken);
        }
    }

    private static async Task RelayBodyAsync(
        HttpContext context, Provider provider, HttpContent content, bool isEventStream, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var body = new RelayedBodyStream(context.Response.BodyWriter, provider.CreateRedactor());
        try
        {
            await using var source = await content.ReadAsStreamAsync(deadline);
            if (isEventStream)
            {
                // The client learns at once that its stream has begun; any other body carries its headers in its first write.
                await context.Response.StartAsync(cancellationToken);
            }

            await source.CopyToAsync(body, BufferSize, deadline);
        }
        catch (Exception exception) when (Failure(provider, "the connection broke during the answer", exception, cancellationToken) is { } failure)
        {
            throw failure;
        }

        // A clean end of the connection is no complete answer: only the marker says the provider finished. What the
        // redactor holds back then is at most the start of a key in an unfinished line, and stays behind.
        if (isEventStream && !body.EndedWithDone)
        {
            throw new ProviderException($"{provider.Name} failed: its event stream ended without data: [DONE], so the answer may be incomplete.")
            {
                ErrorType = "truncated",
            };
        }

        await body.CompleteAsync(cancellationToken);
    }

    /// <summary>A client-safe failure of one step of the relay; null lets anything else through, the client's own going away first.</summary>
    private static ProviderException? Failure(Provider provider, string step, Exception exception, CancellationToken cancellationToken) => exception switch
    {
        _ when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException => new ProviderException(
            $"{provider.Name} did not answer within {provider.Options.TimeoutSeconds:0.###} s.", ProviderFailure.Timeout, exception),
        HttpRequestException or IOException => new ProviderException(
            $"{provider.Name} failed: {step}: {provider.Redact(exception.Message)}", ProviderFailure.Error, exception),
        _ => null,
    };
}
