using Microsoft.AspNetCore.Http.Features;
using MoaGateway.OpenAiWire;
using Yarp.ReverseProxy.Forwarder;

namespace MoaGateway.Forwarding;

/// <summary>
/// What of a pass-through request and its answer crosses the gateway. To the provider: the rewritten body, sent by
/// <see cref="PassthroughCall"/>, and the client's Accept; nothing else of the client's headers, so its Authorization,
/// cookies and any other credential stay behind (the provider's own are added by its handler chain). To the client:
/// the status and the headers <see cref="RelayedHeaders"/> lets through, and the body redacted and watched for its end.
/// </summary>
internal sealed class PassthroughTransformer(PassthroughCall call) : HttpTransformer
{
    private Stream? _clientBody;

    /// <summary>The client's body as it is relayed, once the provider's answer has begun.</summary>
    public RelayedBodyStream? Relayed { get; private set; }

    public bool IsEventStream { get; private set; }

    public int? Status { get; private set; }

    public override ValueTask TransformRequestAsync(
        HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        proxyRequest.RequestUri = call.Uri;
        if (httpContext.Request.Headers.Accept is { Count: > 0 } accept)
        {
            proxyRequest.Headers.TryAddWithoutValidation("Accept", (IEnumerable<string>)accept);
        }

        return ValueTask.CompletedTask;
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is null)
        {
            return false;
        }

        var response = httpContext.Response;
        Status = (int)proxyResponse.StatusCode;
        response.StatusCode = Status.Value;
        RelayedHeaders.Copy(proxyResponse, response.Headers, call.Provider);
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        IsEventStream = proxyResponse.IsSuccessStatusCode && proxyResponse.Content.Headers.ContentType?.MediaType == SseWriter.MediaType;
        if (IsEventStream)
        {
            // The client learns at once that its stream has begun; any other body carries its headers in its first write.
            await response.StartAsync(cancellationToken);
        }

        _clientBody = response.Body;
        Relayed = new RelayedBodyStream(response.BodyWriter, call.Provider.CreateRedactor());
        response.Body = Relayed;
        return true;
    }

    /// <summary>Gives the response its own body back, for whatever ends it after the relay.</summary>
    public void RestoreBody(HttpContext httpContext)
    {
        if (_clientBody is not null)
        {
            httpContext.Response.Body = _clientBody;
        }
    }
}
