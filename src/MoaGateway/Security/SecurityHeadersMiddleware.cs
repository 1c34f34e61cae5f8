namespace MoaGateway.Security;

/// <summary>
/// Headers that tell browsers to treat every response as inert data: not sniffed into HTML, not framed, not
/// leaking the URL as a referrer, running nothing; and, unless the response set its own (SSE's <c>no-cache</c>, a
/// provider's), not stored by any cache.
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
            headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            if (string.IsNullOrEmpty(headers.CacheControl))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        });
        return next(context);
    }
}
