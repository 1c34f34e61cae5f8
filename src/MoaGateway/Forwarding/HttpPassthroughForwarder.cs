using System.Buffers;
using System.Collections.Frozen;
using System.Net.Http.Headers;
using System.Text;
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

    private static readonly FrozenSet<string> HopByHopHeaders = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade");

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

        var upstreamResponse = await BeforeRelayAsync(
            provider, "connection failed", () => provider.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token), cancellationToken);
        using (upstreamResponse)
        {
            var error = upstreamResponse.IsSuccessStatusCode
                ? null
                : await BeforeRelayAsync(provider, "unreadable error", () => ErrorBodyAsync(provider, upstreamResponse.Content, deadline.Token), cancellationToken);
            var response = context.Response;
            response.StatusCode = (int)upstreamResponse.StatusCode;
            CopyHeaders(upstreamResponse.Headers, response.Headers);
            CopyHeaders(upstreamResponse.Content.Headers, response.Headers);
            if (error is not null)
            {
                response.ContentLength = error.Length;
                await response.Body.WriteAsync(error, cancellationToken);
                return;
            }

            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await RelayBodyAsync(context, upstreamResponse.Content, deadline.Token, cancellationToken);
        }
    }

    /// <summary>One step before anything reaches the client, its failures turned into errors the client can still read.</summary>
    private static async Task<T> BeforeRelayAsync<T>(Provider provider, string failure, Func<Task<T>> step, CancellationToken cancellationToken)
    {
        try
        {
            return await step();
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderException(
                $"{provider.Name} did not answer within {provider.Options.TimeoutSeconds:0.###} s.", ProviderFailure.Timeout, exception);
        }
        catch (HttpRequestException exception)
        {
            throw new ProviderException($"{provider.Name} failed: {failure}: {provider.Redact(exception.Message)}", ProviderFailure.Error, exception);
        }
    }

    /// <summary>
    /// A provider's error body, as sent unless it echoes the provider's key (some do), which is then removed. Errors
    /// are small, so it is read whole, up to a bound, before anything is sent.
    /// </summary>
    private static async Task<byte[]> ErrorBodyAsync(Provider provider, HttpContent content, CancellationToken deadline)
    {
        await content.LoadIntoBufferAsync(MaxErrorBodyBytes, deadline);
        var body = await content.ReadAsByteArrayAsync(deadline);
        var text = Encoding.UTF8.GetString(body);
        var redacted = provider.Redact(text);
        return redacted == text ? body : Encoding.UTF8.GetBytes(redacted);
    }

    private static async Task RelayBodyAsync(
        HttpContext context, HttpContent content, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var source = await content.ReadAsStreamAsync(deadline);
            if (content.Headers.ContentType?.MediaType == SseWriter.MediaType)
            {
                // The client learns at once that its stream has begun; any other body carries its headers in its first write.
                await context.Response.StartAsync(cancellationToken);
            }

            int read;
            while ((read = await source.ReadAsync(buffer, deadline)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                await context.Response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException &&
                                          !cancellationToken.IsCancellationRequested)
        {
            // The status line is already sent: breaking the connection is the only signal of a cut-off body clients cannot miss.
            context.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hop-by-hop headers stay behind, and so do a provider's CORS headers, which would open the gateway to browsers its own CORS settings refuse.</summary>
    private static void CopyHeaders(HttpHeaders source, IHeaderDictionary destination)
    {
        foreach (var (name, values) in source)
        {
            if (!HopByHopHeaders.Contains(name) && !name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
            {
                destination[name] = values.ToArray();
            }
        }
    }
}
