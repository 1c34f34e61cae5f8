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

        await using var upstream = await FakeUpstream.StartAsync();
        var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("exported", [["p1"]], "agg")
            .Set("OTEL_EXPORTER_OTLP_ENDPOINT", collectorUrl)
            .Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .Set("OTEL_SERVICE_NAME", "moagateway-under-test"));
        using (var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "exported", messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            response.EnsureSuccessStatusCode();
        }

        // Stopping the gateway disposes its tracer provider, which flushes the batch.
        await gateway.DisposeAsync();

        var traces = received.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(traces);
        Assert.All(traces, t => Assert.Equal("application/x-protobuf", t.ContentType));
        var payload = Encoding.UTF8.GetString([.. traces.SelectMany(t => t.Body)]);
        foreach (var expected in new[] { "moagateway-under-test", "moa exported", "moa layer 1", "chat p1", "chat agg", "gen_ai.request.model" })
        {
            Assert.Contains(expected, payload, StringComparison.Ordinal);
        }
    }
}
