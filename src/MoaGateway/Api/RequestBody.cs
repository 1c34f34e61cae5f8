using Microsoft.AspNetCore.Http.Features;

namespace MoaGateway.Api;

internal static class RequestBody
{
    /// <summary>Reads the whole body, or gives the 413 or 400 error that reading it ran into.</summary>
    public static async Task<(ReadOnlyMemory<byte> Body, OpenAiError? Error)> ReadAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? long.MaxValue;
        if (request.ContentLength > limit)
        {
            return (default, OpenAiError.BodyTooLarge(limit));
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, OpenAiError.BodyTooLarge(limit));
        }
        catch (BadHttpRequestException exception)
        {
            return (default, OpenAiError.InvalidRequest($"The request body could not be read: {exception.Message}"));
        }

        return (buffer.GetBuffer().AsMemory(0, (int)buffer.Length), null);
    }
}
