using System.Buffers;
using System.Security.Cryptography;

namespace MoaGateway.Security;

/// <summary>
/// Gives every request an id: the client's <c>x-request-id</c> when it is sane (at most 128 characters of
/// <c>[A-Za-z0-9._-]</c>, so it cannot forge log lines or headers), else <c>req_</c> and 24 hex digits. It becomes
/// <see cref="HttpContext.TraceIdentifier"/>, which request logs read, the <c>RequestId</c> of every event logged while
/// the request runs, and the response's <c>x-request-id</c>, errors included.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "x-request-id";

    private const int MaxLength = 128;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    public async Task InvokeAsync(HttpContext context)
    {
        var id = context.Request.Headers[Header] is [{ Length: > 0 and <= MaxLength } sent] && !sent.AsSpan().ContainsAnyExcept(Allowed)
            ? sent
            : "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        context.TraceIdentifier = id;
        // Set as the response starts, so that it outlives a cleared error response and wins over a pass-through provider's own.
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[Header] = id;
            return Task.CompletedTask;
        });

        // Replaces the RequestId of ASP.NET Core's own scope, which holds the connection's id from before this one.
        KeyValuePair<string, object?>[] scope = [new("RequestId", id)];
        using (logger.BeginScope(scope))
        {
            await next(context);
        }
    }
}
