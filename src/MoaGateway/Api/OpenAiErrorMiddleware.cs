namespace MoaGateway.Api;

/// <summary>
/// Under <c>/v1</c>, every error leaves in OpenAI's envelope: unknown routes, wrong methods and unexpected exceptions
/// included, because the official SDKs read nothing else (a ProblemDetails body becomes an opaque failure). An
/// unexpected exception after the response has started ends it as cut off (<see cref="StreamCutOff"/>).
/// </summary>
internal sealed partial class OpenAiErrorMiddleware(RequestDelegate next, ILogger<OpenAiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.RequestAborted.IsCancellationRequested)
        {
            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            if (context.Response.HasStarted)
            {
                await StreamCutOff.EndAsync(context, OpenAiError.Internal());
                return;
            }

            context.Response.Clear();
            await OpenAiError.Internal().ExecuteAsync(context);
            return;
        }

        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentType is null)
        {
            var request = context.Request;
            var error = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => new OpenAiError(404, $"Invalid URL ({request.Method} {request.Path}).", "invalid_request_error", null, "unknown_url"),
                StatusCodes.Status405MethodNotAllowed => new OpenAiError(
                    405, $"Method {request.Method} is not allowed for {request.Path}.", "invalid_request_error", null, "method_not_allowed"),
                _ => new OpenAiError(response.StatusCode, $"The request failed with status {response.StatusCode}.", "invalid_request_error"),
            };
            await error.ExecuteAsync(context);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
