using Microsoft.Extensions.Options;
using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.Providers;
using MoaGateway.Security;

namespace MoaGateway.Api;

/// <summary><c>POST /v1/chat/completions</c>: a virtual model runs as a Mixture-of-Agents; <c>&lt;provider&gt;/&lt;model&gt;</c> passes through.</summary>
public static class ChatCompletionsApi
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", CreateAsync).WithName("CreateChatCompletion").RequireRateLimiting(ChatConcurrency.PolicyName);
        return v1;
    }

    private static async Task<IResult> CreateAsync(
        HttpContext context,
        VirtualModelCatalog catalog,
        ProviderRegistry providers,
        MoaEngine engine,
        IPassthroughForwarder forwarder,
        IOptions<GatewayOptions> options,
        ShutdownDrain drain,
        CancellationToken cancellationToken)
    {
        var (body, readError) = await RequestBody.ReadAsync(context, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        using var request = ChatRequest.Parse(body, options.Value.Limits, out var parseError);
        if (request is null)
        {
            return parseError!;
        }

        var details = context.Features.Get<RequestLogDetails>();
        if (details is not null)
        {
            details.Model = request.Model;
            details.Stream = request.Stream;
            details.Prompt = details.CaptureContent ? request.MessagesJson : null;
        }

        if (!ClientKey.Allows(context, request.Model))
        {
            return OpenAiError.ModelNotAllowed(request.Model);
        }

        if (catalog.TryGet(request.Model, out var model))
        {
            using var scope = new RequestScope(TimeSpan.FromSeconds(options.Value.RequestTimeoutSeconds), cancellationToken, drain.Over);
            return await MoaAsync(context, model, request, engine, options.Value, scope);
        }

        return PassthroughTarget(request.Model, providers) switch
        {
            (Provider provider, string providerModel, _) =>
                await PassthroughAsync(context, forwarder, provider, ModelField.Replace(body.Span, providerModel), cancellationToken),
            (_, _, string unavailable) => OpenAiError.ProviderUnavailable(unavailable),
            _ => OpenAiError.ModelNotFound(request.Model),
        };
    }

    private static async Task<IResult> MoaAsync(
        HttpContext context, VirtualModel model, ChatRequest request, MoaEngine engine, GatewayOptions options, RequestScope scope)
    {
        var input = MoaInput.From(request);
        if (input.Error is not null)
        {
            return input.Error;
        }

        var run = new MoaRun(model);
        var deltas = engine.RunAsync(model, input.Messages!, input.AggregatorOptions!, request.Stream, run, scope.Token);
        var details = context.Features.Get<RequestLogDetails>();
        if (!request.Stream)
        {
            return await MoaResponses.CompleteAsync(model, deltas, run, scope, details);
        }

        await MoaResponses.StreamAsync(context, deltas, run, request.IncludeUsage, TimeSpan.FromSeconds(options.KeepAliveSeconds), scope, details);
        return Results.Empty;
    }

    private static async Task<IResult> PassthroughAsync(
        HttpContext context, IPassthroughForwarder forwarder, Provider provider, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            await forwarder.ForwardAsync(context, provider, "chat/completions", body, cancellationToken);
        }
        catch (ProviderException exception) when (!context.Response.HasStarted)
        {
            return OpenAiError.FromProvider(exception);
        }
        catch (ProviderException exception)
        {
            await StreamCutOff.EndAsync(context, OpenAiError.FromProvider(exception));
        }

        return Results.Empty;
    }

    /// <summary>Splits <c>provider/model</c> at its first slash; model ids such as <c>meta-llama/Llama-3.3-70B</c> keep theirs.</summary>
    private static (Provider? Provider, string? Model, string? Unavailable) PassthroughTarget(string name, ProviderRegistry providers)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == name.Length - 1)
        {
            return default;
        }

        var provider = name[..slash];
        var model = name[(slash + 1)..];
        return providers.TryGet(provider, out var registered)
            ? (registered, model, null)
            : (null, null, providers.UnavailableReason(provider));
    }
}
