using System.Text.Json;
using MoaGateway.Observability;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// <c>POST /v1/completions</c>, <c>/v1/embeddings</c> and <c>/v1/moderations</c>: <c>&lt;provider&gt;/&lt;model&gt;</c>
/// passes through to the same endpoint of that provider, under the chat routes' access control and limits. A mixture
/// answers a conversation, so a virtual model is refused here.
/// </summary>
public static class PassthroughApi
{
    /// <summary>Each endpoint, relative to <c>/v1</c> and to a provider's base URL alike, with its route name.</summary>
    private static readonly (string Path, string Name)[] Endpoints =
    [
        ("completions", "CreateCompletion"),
        ("embeddings", "CreateEmbedding"),
        ("moderations", "CreateModeration"),
    ];

    public static RouteGroupBuilder MapPassthrough(this RouteGroupBuilder v1)
    {
        foreach (var (path, name) in Endpoints)
        {
            v1.MapPost($"/{path}", (HttpContext context, ModelRouter router, RequestLogDetails details, CancellationToken cancellationToken) =>
                    ForwardAsync(context, router, details, path, cancellationToken))
                .WithName(name)
                .RequireRateLimiting(ChatConcurrency.PolicyName)
                .RequireBudget();
        }

        return v1;
    }

    private static async Task<IResult> ForwardAsync(
        HttpContext context, ModelRouter router, RequestLogDetails details, string path, CancellationToken cancellationToken)
    {
        var limits = ConfigurationSnapshot.Of(context).Options.Limits;
        var (body, readError) = await RequestBody.ReadAsync(context, limits.MaxRequestBodyBytes, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        using var document = RequestJson.Parse(body, out var parseError);
        if (document is null)
        {
            return parseError!;
        }

        var root = document.RootElement;
        if (RequestJson.ModelError(root) is { } modelError)
        {
            // OpenAI picks a moderation model itself when none is named; the gateway cannot guess a provider.
            return path == "moderations" && root.ValueKind == JsonValueKind.Object && !root.TryGetProperty("model", out _)
                ? OpenAiError.InvalidRequest(
                    "'model' is required: the gateway moderates through a provider, so name one as '<provider>/<model>' (such as 'openai/omni-moderation-latest').",
                    "model")
                : modelError;
        }

        details.Model = root.GetProperty("model").GetString()!;
        details.Stream = root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        return await router.RouteAsync(
            context, details.Model, body, path, MoaExtension.Find(root), (moa, _) => Task.FromResult<IResult>(OpenAiError.VirtualModelOnPassthrough(moa.Model.Id, path)));
    }
}
