using MoaGateway.Observability;
using MoaGateway.OpenAiWire;
using MoaGateway.Providers.Simulated;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary><c>POST /v1/chat/completions</c>: a virtual model runs as a Mixture-of-Agents; <c>&lt;provider&gt;/&lt;model&gt;</c> passes through.</summary>
public static class ChatCompletionsApi
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", CreateAsync).WithName("CreateChatCompletion").RequireRateLimiting(ChatConcurrency.PolicyName).RequireBudget();
        return v1;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ModelRouter router, RequestLogDetails details, CancellationToken cancellationToken)
    {
        var configuration = ConfigurationSnapshot.Of(context);
        var options = configuration.Options;
        var (body, readError) = await RequestBody.ReadAsync(context, options.Limits.MaxRequestBodyBytes, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        using var request = ChatRequest.Parse(body, options.Limits, out var parseError);
        if (request is null)
        {
            return parseError!;
        }

        details.Model = request.Model;
        details.Stream = request.Stream;
        details.Prompt = details.CaptureContent ? request.MessagesJson : null;

        return await router.RouteAsync(context, request.Model, body, "chat/completions", request.Moa, (moa, scope) =>
        {
            var header = CompletionHeader.Create(
                moa.Model.Id, configuration.SimulatedProviders(moa.Model).Count > 0 ? SimulatedProviderHandler.SystemFingerprint : null);
            return MoaResponses.RespondAsync(context, moa, request, new ChatAnswerFormat(header, request.IncludeUsage), scope, details);
        });
    }
}
