using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

public sealed class OtlpExportTests
{
    [Fact]
    public async Task Spans_reach_an_otlp_http_receiver_named_by_the_standard_variables()
    {
        var received = new ConcurrentQueue<(string Path, string? ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, context.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
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
    }
}
