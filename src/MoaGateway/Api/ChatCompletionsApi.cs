using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.OpenAiWire;
using MoaGateway.Providers;
using MoaGateway.Providers.Simulated;
using MoaGateway.Security;
using MoaGateway.Serving;

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
        HttpContext context, IPassthroughForwarder forwarder, ShutdownDrain drain, RequestLogDetails details, CancellationToken cancellationToken)
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

        if (!ClientKey.Allows(context, request.Model))
        {
            return OpenAiError.ModelNotAllowed(request.Model);
        }

        if (configuration.Models.TryGet(request.Model, out var model))
        {
            if (request.Moa is { } moa)
            {
                var extension = MoaExtension.Read(moa, model, options, context.Features.Get<ClientKey>(), out var moaError);
                if (extension is null)
                {
                    return moaError!;
                }

                model = extension.Model;
            }

            using var scope = new RequestScope(TimeSpan.FromSeconds(options.RequestTimeoutSeconds), cancellationToken, drain.Over);
            return await MoaAsync(context, model, request, configuration, scope, details);
        }

        var target = PassthroughTarget(request.Model, configuration.Providers);
        if (request.Moa is not null && target != default)
        {
            return OpenAiError.MoaOnPassthrough(request.Model);
        }

        return target switch
        {
            (Provider provider, string providerModel, _) =>
                await PassthroughAsync(context, forwarder, provider, ModelField.Replace(body.Span, providerModel), cancellationToken),
            (_, _, string unavailable) => OpenAiError.ProviderUnavailable(unavailable),
            _ => OpenAiError.ModelNotFound(request.Model),
        };
    }

    private static async Task<IResult> MoaAsync(
        HttpContext context, VirtualModel model, ChatRequest request, ConfigurationSnapshot configuration, RequestScope scope, RequestLogDetails details)
    {
        var input = MoaInput.From(request);
        if (input.Error is not null)
        {
            return input.Error;
        }

        var run = new MoaRun(model);
        var deltas = configuration.Engine.RunAsync(model, input.Messages!, input.AggregatorOptions!, request.Stream, run, scope.Token);
        var header = CompletionHeader.Create(
            model.Id, configuration.SimulatedProviders(model).Count > 0 ? SimulatedProviderHandler.SystemFingerprint : null);
        if (!request.Stream)
        {
            return await MoaResponses.CompleteAsync(header, deltas, run, scope, details);
        }

        await MoaResponses.StreamAsync(context, header, deltas, run, request.IncludeUsage, TimeSpan.FromSeconds(configuration.Options.KeepAliveSeconds), scope, details);
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

    /// <summary>The provider and model of a <c>provider/model</c> name, or why that provider cannot be used.</summary>
    private static (Provider? Provider, string? Model, string? Unavailable) PassthroughTarget(string name, ProviderRegistry providers)
    {
        if (!ProviderModel.TryParse(name, out var target))
        {
            return default;
        }

        return providers.TryGet(target.Provider, out var registered)
            ? (registered, target.Model, null)
            : (null, null, providers.UnavailableReason(target.Provider));
    }
}
