using System.Collections.Frozen;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using MoaGateway.Configuration;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Playground;

/// <summary>
/// <c>GET /playground</c>: a page that runs a virtual model and shows each agent at work. It is a client of the public
/// API like any other (every call it makes goes to <c>/v1</c>, with the person's key), so the page itself needs no key.
/// </summary>
public static class PlaygroundApi
{
    /// <summary>What the page needs and nothing more: its own script, style sheet and icon, and requests to the gateway it came from.</summary>
    private const string PagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly PlaygroundAsset Page = PlaygroundAsset.Load("playground.html", "text/html; charset=utf-8");

    private static readonly FrozenDictionary<string, PlaygroundAsset> Files = new Dictionary<string, PlaygroundAsset>
    {
        ["playground.js"] = PlaygroundAsset.Load("playground.js", "text/javascript; charset=utf-8"),
        ["playground.css"] = PlaygroundAsset.Load("playground.css", "text/css; charset=utf-8"),
        ["icon.svg"] = PlaygroundAsset.Load("icon.svg", "image/svg+xml"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static WebApplication MapPlayground(this WebApplication app)
    {
        var playground = app.MapGroup("/playground")
            .WithMetadata(new ContentSecurityPolicy(PagePolicy))
            .AddEndpointFilter(WhenEnabled);
        playground.MapGet("", ServePage).WithName("Playground");
        playground.MapGet("/settings", Settings).WithName("PlaygroundSettings");
        playground.MapGet("/{file}", File).WithName("PlaygroundFile");
        return app;
    }

    /// <summary><c>MoaGateway:Playground:Enabled</c>, read per request so that a reload turns the page on or off; unset, on in Development only.</summary>
    private static ValueTask<object?> WhenEnabled(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var enabled = ConfigurationSnapshot.Of(context).Options.Playground.Enabled ??
                      context.RequestServices.GetRequiredService<IHostEnvironment>().IsDevelopment();
        return enabled ? next(invocation) : ValueTask.FromResult<object?>(TypedResults.NotFound());
    }

    /// <summary>The page's links are relative (so that it works under a reverse proxy's path prefix), which holds only at <c>/playground</c> itself.</summary>
    private static Results<FileContentHttpResult, RedirectHttpResult> ServePage(HttpContext context) =>
        context.Request.Path.Value!.EndsWith('/') ? TypedResults.Redirect("../playground") : Page.Serve(context);

    private static Results<FileContentHttpResult, NotFound> File(string file, HttpContext context) =>
        Files.TryGetValue(file, out var asset) ? asset.Serve(context) : TypedResults.NotFound();

    /// <summary>
    /// What the page must know before its first API call: whether to ask for a key, whether it may ask for the
    /// proposers' answers, and whether it may offer to change the topology.
    /// </summary>
    private static JsonHttpResult<PlaygroundSettings> Settings(HttpContext context)
    {
        var configuration = ConfigurationSnapshot.Of(context);
        var options = configuration.Options;
        var overrides = options.Overrides;
        return TypedResults.Json(
            new PlaygroundSettings(
                configuration.ClientKeys.Required,
                options.Panel.Expose != PanelOptions.Never,
                new PlaygroundOverrides(overrides.Enabled, overrides.MaxLayers, overrides.MaxAgentsPerLayer, overrides.MaxUpstreamCalls)),
            PlaygroundJsonContext.Default.PlaygroundSettings);
    }
}

/// <param name="ApiKeyRequired">Client keys are configured: every <c>/v1</c> call needs one.</param>
/// <param name="Panel"><c>moa.include_proposals</c> is allowed (<c>MoaGateway:Panel:Expose</c> is not <c>never</c>).</param>
/// <param name="Overrides">What a request's <c>moa</c> topology may do.</param>
public sealed record PlaygroundSettings(bool ApiKeyRequired, bool Panel, PlaygroundOverrides Overrides);

/// <summary>Whether a request may carry a topology in its <c>moa</c> object, and the bounds of <c>MoaGateway:Overrides</c> it is held to.</summary>
public sealed record PlaygroundOverrides(bool Enabled, int MaxLayers, int MaxAgentsPerLayer, int MaxUpstreamCalls);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PlaygroundSettings))]
internal sealed partial class PlaygroundJsonContext : JsonSerializerContext;
