using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary><c>/metrics</c> in Prometheus text on the management port only, never on the public one.</summary>
public sealed class PrometheusTests
{
    /// <summary>A fake upstream and a gateway with a management port, serving a virtual model of a name of its own.</summary>
    private sealed class ScrapedGateway : IAsyncDisposable
    {
        public required string Model { get; init; }

        public required FakeUpstream Upstream { get; init; }

        public required GatewayHost Gateway { get; init; }

        public required HttpClient Management { get; init; }

        public static async Task<ScrapedGateway> StartAsync()
        {
            var upstream = await FakeUpstream.StartAsync();
            var port = GatewayProcess.FreePort();
            var model = $"scraped-{Guid.NewGuid():N}";
            var gateway = await GatewayHost.StartAsync(new GatewaySettings()
                .Provider("fake", upstream)
                .Model(model, [["p1", "p2"]], "agg")
                .Set("MoaGateway:Management:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return new ScrapedGateway
            {
                Model = model,
                Upstream = upstream,
                Gateway = gateway,
                Management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") },
            };
        }

        public async ValueTask DisposeAsync()
        {
            Management.Dispose();
            await Gateway.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_management_port_serves_the_gateways_metrics_as_prometheus_text()
    {
        await using var scraped = await ScrapedGateway.StartAsync();
        var (model, upstream, gateway, management) = (scraped.Model, scraped.Upstream, scraped.Gateway, scraped.Management);
        using (var answer = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            answer.EnsureSuccessStatusCode();
        }

        using var response = await management.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE moa_request_duration_seconds histogram", text, StringComparison.Ordinal);
        var lines = text.Split('\n');
        Assert.Contains(lines, line => line.StartsWith("moa_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains($"moa_model=\"{model}\"", StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("gen_ai_client_token_usage", StringComparison.Ordinal)
            && line.Contains($"moa_model=\"{model}\"", StringComparison.Ordinal));
        // ASP.NET Core's, HttpClient's (the calls to the fake upstream) and the runtime's own metrics come along.
        Assert.Contains(lines, line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains("http_route=\"/v1/chat/completions\"", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("http_client_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains($"server_port=\"{new Uri(upstream.BaseUrl).Port}\"", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("dotnet_gc_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_public_port_never_serves_metrics_and_the_management_port_serves_nothing_else()
    {
        await using var scraped = await ScrapedGateway.StartAsync();
        var (gateway, management) = (scraped.Gateway, scraped.Management);

        using var publicMetrics = await gateway.Http.GetAsync("/metrics");
        // A Host header naming the management port does not help: requests are told apart by the port they arrived on.
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        forged.Headers.Host = management.BaseAddress!.Authority;
        using var forgedMetrics = await gateway.Http.SendAsync(forged);
        using var managementModels = await management.GetAsync("/v1/models");
        using var managementHealth = await management.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.NotFound, publicMetrics.StatusCode);
        Assert.DoesNotContain("# TYPE", await publicMetrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, forgedMetrics.StatusCode);
        Assert.DoesNotContain("# TYPE", await forgedMetrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, managementModels.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, managementHealth.StatusCode);
        using var models = await gateway.Http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    [Fact]
    public async Task Without_a_management_port_nothing_serves_metrics()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", upstream).Model("m", [["p1"]], "agg"));

        using var response = await gateway.Http.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(gateway.Addresses);
    }

    [Theory]
    [InlineData("not-a-port", "MoaGateway:Management:Port 'not-a-port' is not a TCP port (1 to 65535).")]
    [InlineData("70000", "MoaGateway:Management:Port '70000' is not a TCP port (1 to 65535).")]
    [InlineData("public", "is also the port of the public address http://127.0.0.1:{0}")]
    public void A_management_port_that_is_no_port_or_the_public_one_refuses_to_start(string value, string expected)
    {
        var port = GatewayProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var settings = new GatewaySettings()
            .Set("urls", $"http://127.0.0.1:{port}")
            .Set("MoaGateway:Management:Port", value == "public" ? port : value);

        var failure = Assert.Throws<OptionsValidationException>(() => GatewayApp.Create(settings.ToArgs()));

        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, port), failure.Message, StringComparison.Ordinal);
    }
}
