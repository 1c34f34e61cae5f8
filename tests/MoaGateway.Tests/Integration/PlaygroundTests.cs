using System.Net;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// <c>GET /playground</c> over raw HTTP: when it is served, with what types, policy and caching, and what it tells the
/// page. What the page does in a browser is tested in MoaGateway.BrowserTests.
/// </summary>
public sealed class PlaygroundTests : GatewayTest
{
    private const string PagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly string[] Files = ["/playground", "/playground/playground.js", "/playground/playground.css", "/playground/icon.svg", "/playground/settings"];

    protected override GatewaySettings Configure(FakeUpstream upstream) =>
        new GatewaySettings().Provider("fake", upstream).Model("moa", [["a"]], "agg");

    [Fact]
    public async Task The_playground_is_off_in_production_unless_enabled()
    {
        foreach (var path in Files)
        {
            using var response = await Gateway.Http.GetAsync(path);

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("default-src 'none'; frame-ancestors 'none'", Header(response, "Content-Security-Policy"));
        }
    }

    [Fact]
    public async Task The_playground_is_on_in_development_unless_disabled()
    {
        await using var development = await GatewayHost.StartAsync(Configure(Upstream).Set("environment", "Development"));
        await using var disabled = await GatewayHost.StartAsync(Configure(Upstream).Set("environment", "Development").Set("MoaGateway:Playground:Enabled", "false"));

        using var on = await development.Http.GetAsync("/playground");
        using var off = await disabled.Http.GetAsync("/playground");

        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, off.StatusCode);
    }

    [Fact]
    public async Task A_reload_of_the_settings_file_turns_the_playground_on_without_a_restart()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("moagateway-playground-").FullName, "moagateway.json");
        await File.WriteAllTextAsync(file, PlaygroundFile(enabled: false));
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MOAGATEWAY_CONFIG", file));
        var before = await StatusAsync(gateway, "/playground");

        await File.WriteAllTextAsync(file, PlaygroundFile(enabled: true));

        await Eventually.True(async () => await StatusAsync(gateway, "/playground") == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NotFound, before);
    }

    [Fact]
    public async Task The_page_and_its_files_are_served_with_their_types_and_a_policy_that_allows_only_what_the_page_needs()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MoaGateway:Playground:Enabled", "true"));
        var expected = new Dictionary<string, string>
        {
            ["/playground"] = "text/html",
            ["/playground/playground.js"] = "text/javascript",
            ["/playground/playground.css"] = "text/css",
            ["/playground/icon.svg"] = "image/svg+xml",
        };

        foreach (var (path, mediaType) in expected)
        {
            using var response = await gateway.Http.GetAsync(path);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(PagePolicy, Header(response, "Content-Security-Policy"));
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            Assert.Equal("DENY", Header(response, "X-Frame-Options"));
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100, $"{path} is nearly empty");
        }

        var page = await gateway.Http.GetStringAsync("/playground");
        Assert.Contains("<script type=\"module\" src=\"playground/playground.js\"></script>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", page, StringComparison.Ordinal);
        Assert.DoesNotContain("http", page, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Every_other_response_keeps_the_policy_that_runs_nothing()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MoaGateway:Playground:Enabled", "true"));

        foreach (var path in new[] { "/v1/models", "/healthz", "/playground/nothing-here.js", "/nothing-here" })
        {
            using var response = await gateway.Http.GetAsync(path);

            Assert.Equal("default-src 'none'; frame-ancestors 'none'", Header(response, "Content-Security-Policy"));
        }
    }

    [Fact]
    public async Task A_file_is_revalidated_by_its_etag_and_answered_304_while_unchanged()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MoaGateway:Playground:Enabled", "true"));
        using var first = await gateway.Http.GetAsync("/playground/playground.js");
        var etag = first.Headers.ETag;
        using var again = new HttpRequestMessage(HttpMethod.Get, "/playground/playground.js");
        again.Headers.IfNoneMatch.Add(etag!);

        using var revalidated = await gateway.Http.SendAsync(again);

        Assert.NotNull(etag);
        Assert.Equal("no-cache", Header(first, "Cache-Control"));
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Equal(etag, revalidated.Headers.ETag);
    }

    [Fact]
    public async Task The_page_with_a_trailing_slash_redirects_to_the_page_so_its_relative_links_hold()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MoaGateway:Playground:Enabled", "true"));
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = gateway.BaseAddress };

        using var response = await client.GetAsync("/playground/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(new Uri(gateway.BaseAddress, "/playground"), new Uri(new Uri(gateway.BaseAddress, "/playground/"), response.Headers.Location!));
    }

    [Fact]
    public async Task The_page_needs_no_key_and_its_settings_say_a_key_is_needed_and_what_overrides_allow()
    {
        const string key = "sk-client-playground-51ab";
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream)
            .Set("MoaGateway:Playground:Enabled", "true")
            .Set("MoaGateway:Overrides:Enabled", "true")
            .Set("MoaGateway:Overrides:MaxLayers", "2")
            .Auth("browser", key));

        using var page = await gateway.Http.GetAsync("/playground");
        using var models = await gateway.Http.GetAsync("/v1/models");
        var settings = JsonNode.Parse(await gateway.Http.GetStringAsync("/playground/settings"))!;

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.True(settings["api_key_required"]!.GetValue<bool>());
        Assert.True(settings["panel"]!.GetValue<bool>());
        Assert.True(settings["overrides"]!["enabled"]!.GetValue<bool>());
        Assert.Equal(2, settings["overrides"]!["max_layers"]!.GetValue<int>());
        Assert.Equal(8, settings["overrides"]!["max_agents_per_layer"]!.GetValue<int>());
        Assert.Equal(20, settings["overrides"]!["max_upstream_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task Without_keys_overrides_or_the_panel_the_settings_say_so()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream)
            .Set("MoaGateway:Playground:Enabled", "true")
            .Set("MoaGateway:Panel:Expose", "never"));

        var settings = JsonNode.Parse(await gateway.Http.GetStringAsync("/playground/settings"))!;

        Assert.False(settings["api_key_required"]!.GetValue<bool>());
        Assert.False(settings["panel"]!.GetValue<bool>());
        Assert.False(settings["overrides"]!["enabled"]!.GetValue<bool>());
    }

    private static string PlaygroundFile(bool enabled) =>
        $$"""{ "MoaGateway": { "Playground": { "Enabled": {{(enabled ? "true" : "false")}} } } }""";

    private static async Task<HttpStatusCode> StatusAsync(GatewayHost gateway, string path)
    {
        using var response = await gateway.Http.GetAsync(path);
        return response.StatusCode;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;
}
