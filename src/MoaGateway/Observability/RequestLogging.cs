using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Security;

namespace MoaGateway.Observability;

/// <summary>What the endpoints learn about a request that its log line should carry; set as a feature by <see cref="RequestLogging"/>.</summary>
public sealed class RequestLogDetails(bool captureContent)
{
    private StringBuilder? _completion;

    public string? Model { get; set; }

    public bool? Stream { get; set; }

    public int? TotalTokens { get; set; }

    /// <summary>True only when <c>MoaGateway:Logging:IncludeContent</c> is on: prompts and answers are logged then, never otherwise.</summary>
    public bool CaptureContent => captureContent;

    public string? Prompt { get; set; }

    public string? Completion => _completion?.ToString();

    public void AppendCompletion(string? text)
    {
        if (captureContent && text is not null)
        {
            (_completion ??= new StringBuilder()).Append(text);
        }
    }
}

/// <summary>One log line per request, with what the endpoint learnt about it; health probes only at Debug.</summary>
internal sealed partial class RequestLogging(RequestDelegate next, ILogger<RequestLogging> logger, IOptions<GatewayOptions> options)
{
    /// <summary>nginx's status for a request whose client closed the connection first.</summary>
    private const int ClientClosedRequest = 499;

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var details = new RequestLogDetails(options.Value.Logging.IncludeContent);
        context.Features.Set(details);
        try
        {
            await next(context);
        }
        finally
        {
            var status = context.RequestAborted.IsCancellationRequested ? ClientClosedRequest : context.Response.StatusCode;
            var durationMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var request = context.Request;
            var path = request.Path.Value ?? "/";
            // Read after the request: the security layer inside sets the request id and the client key.
            var requestId = context.TraceIdentifier;
            if (request.Path.StartsWithSegments("/healthz") || request.Path.StartsWithSegments("/readyz"))
            {
                LogProbe(logger, path, status, durationMs);
            }
            else
            {
                var clientKeyId = context.Features.Get<ClientKey>()?.Id;
                LogRequest(logger, request.Method, path, status, durationMs, details.Model, details.Stream, clientKeyId, details.TotalTokens, requestId);
                if (details.CaptureContent && details.Completion is var completion && (details.Prompt is not null || completion is not null))
                {
                    LogContent(logger, requestId, details.Prompt, completion);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message =
        "HTTP {Method} {Path} {StatusCode} in {DurationMs:0.0} ms (model {Model}, stream {Stream}, client {ClientKeyId}, tokens {TotalTokens}, request {RequestId})")]
    private static partial void LogRequest(
        ILogger logger, string method, string path, int statusCode, double durationMs, string? model, bool? stream, string? clientKeyId,
        int? totalTokens, string requestId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Probe {Path} {StatusCode} in {DurationMs:0.0} ms")]
    private static partial void LogProbe(ILogger logger, string path, int statusCode, double durationMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Content of request {RequestId}: prompt {Prompt} completion {Completion}")]
    private static partial void LogContent(ILogger logger, string requestId, string? prompt, string? completion);
}
