using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

public sealed class OtlpExportTests
{
    /// <summary>An OTLP/HTTP receiver on a loopback port that keeps what it receives.</summary>
    private static async Task<(WebApplication Collector, ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> Received)> StartCollectorAsync()
    {
        var received = new ConcurrentQueue<(string Path, string? ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, context.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        return (collector, received);
    }

    [Fact]
    public async Task Spans_and_metrics_reach_an_otlp_http_receiver_named_by_the_standard_variables()
    {
        var (collector, received) = await StartCollectorAsync();
        await using var _ = collector;
        var collectorUrl = collector.Urls.First();

        const string upstreamKey = "sk-upstream-otlp-secret-2718";
        const string clientKey = "sk-client-otlp-secret-3141";
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Reply("p2", new FakeReply { Status = 500, ErrorMessage = $"bad key {upstreamKey}" });
        var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream, apiKey: upstreamKey)
            .Auth("exporter", clientKey)
            .Model("exported", [["p1", "p2"]], "agg")
            .Set("OTEL_EXPORTER_OTLP_ENDPOINT", collectorUrl)
            .Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .Set("OTEL_SERVICE_NAME", "moagateway-under-test"));
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions"))
        {
            request.Content = JsonContent.Create(new { model = "exported", messages = new[] { new { role = "user", content = "Hi" } } });
            request.Headers.Authorization = new("Bearer", clientKey);
            using var response = await gateway.Http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        // Stopping the gateway disposes its tracer provider, which flushes the batch.
        await gateway.DisposeAsync();

        var traces = received.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(traces);
        Assert.All(traces, t => Assert.Equal("application/x-protobuf", t.ContentType));
        var payload = Encoding.UTF8.GetString([.. traces.SelectMany(t => t.Body)]);
        foreach (var expected in new[] { "moagateway-under-test", "moa exported", "moa layer 1", "chat p1", "chat agg", "gen_ai.request.model", "[redacted]" })
        {
            Assert.Contains(expected, payload, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(upstreamKey, payload, StringComparison.Ordinal);
        Assert.DoesNotContain(clientKey, payload, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", payload, StringComparison.Ordinal);

        // The meter provider is flushed on the way down as well.
        var metrics = Encoding.UTF8.GetString([.. received.Where(r => r.Path == "/v1/metrics").SelectMany(r => r.Body)]);
        foreach (var expected in new[] { "moagateway-under-test", "moa.request.duration", "gen_ai.client.token.usage", "http.server.request.duration" })
        {
            Assert.Contains(expected, metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_exporters_own_requests_are_not_counted_among_http_client_calls()
    {
        var (collector, received) = await StartCollectorAsync();
        await using var _ = collector;
        await using var upstream = await FakeUpstream.StartAsync();
        var managementPort = GatewayProcess.FreePort();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("exported", [["p1"]], "agg")
            .Set("MoaGateway:Management:Port", managementPort.ToString(CultureInfo.InvariantCulture))
            .Set("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Urls.First())
            .Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .Set("OTEL_METRIC_EXPORT_INTERVAL", "100")
            .Set("OTEL_BSP_SCHEDULE_DELAY", "100"));
        using (var answer = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "exported", messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            answer.EnsureSuccessStatusCode();
        }

        await Eventually.True(() => received.Count(r => r.Path == "/v1/metrics") >= 3 && received.Any(r => r.Path == "/v1/traces"));
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}") };
        var scraped = (await management.GetStringAsync("/metrics")).Split('\n');

        var httpClientCalls = scraped.Where(line => line.StartsWith("http_client_request_duration_seconds_count{", StringComparison.Ordinal)).ToList();
        Assert.Contains(httpClientCalls, line => line.Contains($"server_port=\"{new Uri(upstream.BaseUrl).Port}\"", StringComparison.Ordinal));
        Assert.DoesNotContain(httpClientCalls, line => line.Contains($"server_port=\"{new Uri(collector.Urls.First()).Port}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Otel_metrics_exporter_none_keeps_metrics_out_of_otlp_while_spans_are_exported()
    {
        var (collector, received) = await StartCollectorAsync();
        await using var _ = collector;
        await using var upstream = await FakeUpstream.StartAsync();
        var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("traced-only", [["p1"]], "agg")
            .Set("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Urls.First())
            .Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .Set("OTEL_METRICS_EXPORTER", "none"));
        using (var answer = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "traced-only", messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            answer.EnsureSuccessStatusCode();
        }

        await gateway.DisposeAsync();

        Assert.Contains("moa traced-only", Encoding.UTF8.GetString([.. received.Where(r => r.Path == "/v1/traces").SelectMany(r => r.Body)]), StringComparison.Ordinal);
        Assert.DoesNotContain(received, r => r.Path != "/v1/traces");
    }

    [Fact]
    public async Task Spans_reach_an_otlp_grpc_receiver_over_the_default_protocol()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // gRPC without TLS: HTTP/2 only, as an OTLP collector's port 4317 speaks it.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        await using var collector = builder.Build();
        collector.MapPost("/opentelemetry.proto.collector.{service}/Export", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, body.ToArray()));
            context.Response.ContentType = "application/grpc";
            // An empty Export*ServiceResponse in its gRPC frame (not compressed, length 0), then the status trailer.
            await context.Response.Body.WriteAsync(new byte[5]);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await collector.StartAsync();
        await using var upstream = await FakeUpstream.StartAsync();
        var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("grpc-exported", [["p1"]], "agg")
            .Set("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Urls.First()));
        using (var answer = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "grpc-exported", messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            answer.EnsureSuccessStatusCode();
        }

        await gateway.DisposeAsync();

        var traces = Encoding.UTF8.GetString([.. received.Where(r => r.Path.EndsWith("TraceService/Export", StringComparison.Ordinal)).SelectMany(r => r.Body)]);
        Assert.Contains("moa grpc-exported", traces, StringComparison.Ordinal);
        Assert.Contains(received, r => r.Path.EndsWith("MetricsService/Export", StringComparison.Ordinal));
    }
}
