using Microsoft.Net.Http.Headers;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>
/// Ends a response whose status and headers are sent but whose body cannot be completed, so that no client takes it
/// for a whole answer: an event stream gets an OpenAI-shaped <c>error</c> event (or its API's own failure event), then, whatever the body, the
/// connection is aborted. Never <c>[DONE]</c>: the official SDKs skip an error event and take a stream that simply
/// ends for a complete one, so only the broken connection is a signal none of them misses.
/// </summary>
internal static class StreamCutOff
{
    /// <summary>Kestrel drops output still queued for the socket when a connection is aborted, so the error event gets this long to leave first.</summary>
    private static readonly TimeSpan ErrorEventDrain = TimeSpan.FromMilliseconds(200);

    public static async Task EndAsync(HttpContext context, OpenAiError error)
    {
        if (MediaTypeHeaderValue.TryParse(context.Response.ContentType, out var type) && type.MediaType.Equals(SseWriter.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            using var sse = new SseWriter(context.Response.BodyWriter);
            error.WriteTo(sse.BeginEvent());
            sse.EndEvent();
            await AbortAsync(context, sse);
            return;
        }

        context.Abort();
    }

    /// <summary>Sends the events written to <paramref name="sse"/> (the one that says why the stream ends), then aborts the connection.</summary>
    public static async Task AbortAsync(HttpContext context, SseWriter sse)
    {
        await sse.FlushAsync(CancellationToken.None);
        await Task.Delay(ErrorEventDrain, CancellationToken.None);
        context.Abort();
    }
}
