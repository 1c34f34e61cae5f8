using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace MoaGateway.Api;

internal static class RequestBody
{
    /// <summary>
    /// Reads the whole body, or gives the 413 or 400 error that reading it ran into. An oversized body is read on and
    /// discarded up to one more limit's worth before the 413 is sent: a client still sending when the server answers and
    /// closes would see a connection reset instead of the error.
    /// </summary>
    public static async Task<(ReadOnlyMemory<byte> Body, OpenAiError? Error)> ReadAsync(HttpContext context, long limit, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // The limit is enforced below, so that the rest of an oversized body can still be drained.
            sizeFeature.MaxRequestBodySize = null;
        }

        var request = context.Request;
        using var buffer = new MemoryStream(request.ContentLength is { } length && length <= limit ? (int)length : 4096);
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                total += read;
                if (total > 2 * limit)
                {
                    break;
                }

                if (total <= limit)
                {
                    buffer.Write(chunk, 0, read);
                }
            }

            return total > limit ? (default, OpenAiError.BodyTooLarge(limit)) : (buffer.GetBuffer().AsMemory(0, (int)buffer.Length), null);
        }
        catch (BadHttpRequestException exception)
        {
            return (default, OpenAiError.InvalidRequest($"The request body could not be read: {exception.Message}"));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
