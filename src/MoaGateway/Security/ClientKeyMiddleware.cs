using Microsoft.Extensions.Primitives;
using MoaGateway.Api;
using MoaGateway.Serving;

namespace MoaGateway.Security;

/// <summary>
/// When client keys are configured, a <c>/v1</c> request needs <c>Authorization: Bearer &lt;key&gt;</c> with one of
/// them; it then carries that <see cref="ClientKey"/> as a feature. The answer to a missing or wrong key names neither
/// the key presented nor any key id.
/// </summary>
internal sealed class ClientKeyMiddleware(RequestDelegate next)
{
    private const string Bearer = "Bearer ";

    public Task InvokeAsync(HttpContext context)
    {
        var keys = ConfigurationSnapshot.Of(context).ClientKeys;
        if (!keys.Required)
        {
            return next(context);
        }

        var presented = BearerToken(context.Request.Headers.Authorization);
        var key = presented is null ? null : keys.Find(presented);
        if (key is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return (presented is null ? OpenAiError.MissingApiKey() : OpenAiError.InvalidApiKey()).ExecuteAsync(context);
        }

        context.Features.Set(key);
        return next(context);
    }

    private static string? BearerToken(StringValues authorization) =>
        authorization is [{ } value] && value.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && value[Bearer.Length..].Trim() is { Length: > 0 } token
            ? token
            : null;
}
