using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using MoaGateway.Configuration;
using MoaGateway.Moa;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the virtual models, with what each is made of, then the models
/// providers list (<c>Providers:&lt;name&gt;:Models</c>) as <c>&lt;provider&gt;/&lt;model&gt;</c>.
/// </summary>
public static class ModelsApi
{
    private static readonly long StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static RouteGroupBuilder MapModels(this RouteGroupBuilder v1)
    {
        v1.MapGet("/models", List).WithName("ListModels");
        // A catch-all, since a provider's model ids hold slashes of their own (together/Qwen/Qwen2.5-72B-Instruct-Turbo).
        v1.MapGet("/models/{**id}", Retrieve).WithName("RetrieveModel");
        return v1;
    }

    /// <summary>The models the client's key may use: others are neither listed nor retrievable.</summary>
    private static JsonHttpResult<ModelList> List(HttpContext context)
    {
        var configuration = ConfigurationSnapshot.Of(context);
        var virtualModels = configuration.Models.All.Where(model => ClientKey.Allows(context, model.Id)).Select(model => Card(model, configuration));
        var providerModels = ProviderModels(configuration).Select(listed => listed.Card).Where(card => ClientKey.Allows(context, card.Id));
        return TypedResults.Json(new ModelList([.. virtualModels, .. providerModels]), ApiJsonContext.Default.ModelList);
    }

    private static Results<JsonHttpResult<ModelCard>, OpenAiError> Retrieve(string id, HttpContext context)
    {
        // The server decodes every escape of the path except %2F, which would change its segments; an SDK that escapes
        // the slashes of an id sends fake%2Fagg for fake/agg.
        id = id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        var configuration = ConfigurationSnapshot.Of(context);
        if (!ClientKey.Allows(context, id))
        {
            return OpenAiError.ModelNotFound(id);
        }

        if (configuration.Models.TryGet(id, out var model))
        {
            return TypedResults.Json(Card(model, configuration), ApiJsonContext.Default.ModelCard);
        }

        if (!ProviderModel.TryParse(id, out var name))
        {
            return OpenAiError.ModelNotFound(id);
        }

        if (configuration.Providers.UnavailableReason(name.Provider) is { } unavailable)
        {
            return OpenAiError.ProviderUnavailable(unavailable);
        }

        if (!configuration.Providers.TryGet(name.Provider, out var provider))
        {
            return OpenAiError.ModelNotFound(id);
        }

        // Provider names match in any case, as in pass-through; model ids exactly.
        return ProviderModels(configuration).FirstOrDefault(listed =>
                string.Equals(listed.Provider, provider.Name, StringComparison.OrdinalIgnoreCase) && listed.Model == name.Model).Card is { } card
            ? TypedResults.Json(card, ApiJsonContext.Default.ModelCard)
            : OpenAiError.ProviderModelNotListed(id, provider.Name);
    }

    /// <summary>
    /// The models of each provider the gateway can call, as its <c>Models</c> lists them, providers by name. Read from the
    /// snapshot's options: a provider object kept across a reload still holds the list it was built with.
    /// </summary>
    private static IEnumerable<(string Provider, string Model, ModelCard Card)> ProviderModels(ConfigurationSnapshot configuration) =>
        from entry in configuration.Options.Providers.OrderBy(entry => entry.Key, StringComparer.OrdinalIgnoreCase)
        let provider = configuration.Providers.TryGet(entry.Key, out var found) ? found : null
        where provider is not null
        from model in entry.Value.Models
        select (entry.Key, model, new ModelCard($"{entry.Key}/{model}", StartedAt, provider.IsSimulated ? $"{entry.Key} (simulated)" : entry.Key, null));

    private static ModelCard Card(VirtualModel model, ConfigurationSnapshot configuration)
    {
        var simulated = configuration.SimulatedProviders(model).Count > 0;
        return new ModelCard(
            model.Id,
            StartedAt,
            simulated ? "moagateway (simulated)" : "moagateway",
            new ModelComposition(
                model.Description,
                [.. model.Layers.Select(layer => (IReadOnlyList<string>)[.. layer.Agents.Select(agent => agent.ToString())])],
                model.Layers.Any(layer => layer.Agents.Any(agent => agent.Samples is not null))
                    ? [.. model.Layers.Select(layer => (IReadOnlyList<int?>)[.. layer.Agents.Select(agent => agent.Samples)])]
                    : null,
                model.Aggregator.ToString(),
                model.Aggregators.Count > 1 ? [.. model.Aggregators.Skip(1).Select(agent => agent.ToString())] : null,
                model.UpstreamCallCount,
                simulated));
    }
}

public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string ObjectType => "list";
}

/// <summary>OpenAI's model object; <paramref name="Moa"/> only for a virtual model.</summary>
public sealed record ModelCard(string Id, long Created, string OwnedBy, ModelComposition? Moa)
{
    [JsonPropertyName("object"), JsonPropertyOrder(-1)]
    public string ObjectType => "model";
}

/// <summary>
/// An extension of OpenAI's model object: the layers, aggregator and cost in upstream calls of a virtual model.
/// <paramref name="Samples"/>, beside <paramref name="Layers"/> agent for agent, gives each sampled agent's samples
/// (null for one called once); it is left out when no agent is sampled.
/// </summary>
public sealed record ModelComposition(
    string? Description,
    IReadOnlyList<IReadOnlyList<string>> Layers,
    IReadOnlyList<IReadOnlyList<int?>>? Samples,
    string Aggregator,
    IReadOnlyList<string>? AggregatorFallbacks,
    int UpstreamCalls,
    bool Simulated);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
