namespace MoaGateway.Security;

/// <summary>
/// Headers that tell browsers to treat every response as inert data: not sniffed into HTML, not framed, not
/// leaking the URL as a referrer, running nothing (unless its endpoint serves a page with a <see cref="ContentSecurityPolicy"/>
/// of its own); and, unless the response set its own (SSE's <c>no-cache</c>, a provider's), not stored by any cache.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        // Applied as the response starts, so that they outlive a cleared error response and override a pass-through provider's.
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            // A page's own policy is for the page: its errors, like every other response, run nothing.
            headers.ContentSecurityPolicy = context.Response.StatusCode < StatusCodes.Status400BadRequest &&
                                            context.GetEndpoint()?.Metadata.GetMetadata<ContentSecurityPolicy>() is { } page
                ? page.Value
                : ContentSecurityPolicy.Default;
            if (string.IsNullOrEmpty(headers.CacheControl))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        });
        return next(context);
    }
}
