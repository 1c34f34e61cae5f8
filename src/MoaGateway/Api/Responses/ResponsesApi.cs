using System.Text.Json;
using MoaGateway.Observability;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api.Responses;

/// <summary>
/// <c>POST /v1/responses</c>: a virtual model runs as a Mixture-of-Agents, answering in the Responses API's shape;
/// <c>&lt;provider&gt;/&lt;model&gt;</c> passes through, unchecked, to the provider's own <c>/responses</c>.
/// </summary>
public static class ResponsesApi
{
    public static RouteGroupBuilder MapResponses(this RouteGroupBuilder v1)
    {
        v1.MapPost("/responses", CreateAsync).WithName("CreateResponse").RequireRateLimiting(ChatConcurrency.PolicyName).RequireBudget();
        return v1;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ModelRouter router, RequestLogDetails details, CancellationToken cancellationToken)
    {
        var limits = ConfigurationSnapshot.Of(context).Options.Limits;
        var (body, readError) = await RequestBody.ReadAsync(context, limits.MaxRequestBodyBytes, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        var document = RequestJson.Parse(body, out var parseError);
        if (document is null)
        {
            return parseError!;
        }

        // A response echoes fields of its request, and is written after this method returns.
        context.Response.RegisterForDispose(document);
        var root = document.RootElement;
        if (RequestJson.ModelError(root) is { } modelError)
        {
            return modelError;
        }

        details.Model = root.GetProperty("model").GetString()!;
        details.Stream = root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        return await router.RouteAsync(context, details.Model, body, "responses", MoaExtension.Find(root), async (moa, scope) =>
        {
            var request = ResponsesRequest.Parse(root, limits, out var error);
            if (request is null)
            {
                return error!;
            }

            context.Response.RegisterForDispose(request);
            details.Prompt = details.CaptureContent ? request.Chat.MessagesJson : null;
            return await MoaResponses.RespondAsync(context, moa, request.Chat, new ResponseAnswerFormat(request, moa.Model.Id), scope, details);
        });
    }
}
