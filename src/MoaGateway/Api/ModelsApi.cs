using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using MoaGateway.Moa;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the virtual models, with what each is made of.</summary>
public static class ModelsApi
{
    private static readonly long StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static RouteGroupBuilder MapModels(this RouteGroupBuilder v1)
    {
        v1.MapGet("/models", List).WithName("ListModels");
        v1.MapGet("/models/{id}", Retrieve).WithName("RetrieveModel");
        return v1;
    }

    /// <summary>The models the client's key may use: others are neither listed nor retrievable.</summary>
    private static JsonHttpResult<ModelList> List(HttpContext context)
    {
        var configuration = ConfigurationSnapshot.Of(context);
        return TypedResults.Json(
            new ModelList([.. configuration.Models.All.Where(model => ClientKey.Allows(context, model.Id)).Select(model => Card(model, configuration))]),
            ApiJsonContext.Default.ModelList);
    }

    private static Results<JsonHttpResult<ModelCard>, OpenAiError> Retrieve(string id, HttpContext context)
    {
        var configuration = ConfigurationSnapshot.Of(context);
        return configuration.Models.TryGet(id, out var model) && ClientKey.Allows(context, id)
            ? TypedResults.Json(Card(model, configuration), ApiJsonContext.Default.ModelCard)
            : OpenAiError.ModelNotFound(id);
    }

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

public sealed record ModelCard(string Id, long Created, string OwnedBy, ModelComposition Moa)
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
