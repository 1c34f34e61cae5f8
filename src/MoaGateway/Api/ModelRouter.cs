using System.Text.Json;
using MoaGateway.Configuration;
using MoaGateway.Forwarding;
using MoaGateway.Providers;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// The one place a request's <c>model</c> decides where it goes, for every endpoint that takes one: a virtual model
/// runs as a mixture; <c>&lt;provider&gt;/&lt;model&gt;</c> passes through to the same endpoint of that provider.
/// </summary>
internal sealed class ModelRouter(PassthroughForwarder forwarder, ShutdownDrain drain)
{
    /// <param name="context">The request.</param>
    /// <param name="model">The request's <c>model</c>.</param>
    /// <param name="body">The request body as the client sent it, for pass-through.</param>
    /// <param name="providerPath">The provider's endpoint, relative to its base URL, that pass-through calls.</param>
    /// <param name="moa">The request's <c>moa</c> object, if it has one: it may reshape a virtual model, and refuses pass-through.</param>
    /// <param name="mixture">Answers for a virtual model, as the request's <c>moa</c> reshaped it and what else it asked, within the request's scope.</param>
    public async Task<IResult> RouteAsync(
        HttpContext context,
        string model,
        ReadOnlyMemory<byte> body,
        string providerPath,
        JsonElement? moa,
        Func<MoaExtension, RequestScope, Task<IResult>> mixture)
    {
        if (!ClientKey.Allows(context, model))
        {
            return OpenAiError.ModelNotAllowed(model);
        }

        var configuration = ConfigurationSnapshot.Of(context);
        var cancellationToken = context.RequestAborted;
        if (configuration.Models.TryGet(model, out var virtualModel))
        {
            OpenAiError? error = null;
            var extension = moa is { } given
                ? MoaExtension.Read(given, virtualModel, configuration.Options, context.Features.Get<ClientKey>(), out error)
                : MoaExtension.None(virtualModel);
            if (extension is null)
            {
                return error!;
            }

            using var scope = new RequestScope(TimeSpan.FromSeconds(configuration.Options.RequestTimeoutSeconds), cancellationToken, drain.Over);
            return await mixture(extension, scope);
        }

        var target = PassthroughTarget(model, configuration.Providers);
        if (moa is not null && target != default)
        {
            return OpenAiError.MoaOnPassthrough(model);
        }

        return target switch
        {
            (Provider provider, string providerModel, _) =>
                await PassthroughAsync(context, provider, providerModel, providerPath, ModelField.Replace(body.Span, providerModel)),
            (_, _, string unavailable) => OpenAiError.ProviderUnavailable(unavailable),
            _ => OpenAiError.ModelNotFound(model),
        };
    }

    private async Task<IResult> PassthroughAsync(HttpContext context, Provider provider, string model, string path, byte[] body)
    {
        if (await forwarder.ForwardAsync(context, provider, model, path, body, drain.Over) is not { } failure)
        {
            return Results.Empty;
        }

        if (!context.Response.HasStarted)
        {
            return failure;
        }

        await StreamCutOff.EndAsync(context, failure);
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
