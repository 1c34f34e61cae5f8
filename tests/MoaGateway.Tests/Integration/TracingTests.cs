using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The spans of one MoA request, caught in-process and told apart from other tests' by their trace id.</summary>
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "MoaGateway" or "System.Net.Http" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_request_span_holds_a_span_per_layer_and_per_agent_call_with_http_spans_beneath()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Reply("a2", new FakeReply { Status = 400 });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("traced", [["a1", "a2"], ["b1"]], "agg")
            .Set("MoaGateway:Models:traced:Aggregator:Temperature", "0.3"));
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpanId = ActivitySpanId.CreateRandom();

        await SendAsync(gateway, "traced", traceId, clientSpanId);

        var spans = await SpansOfAsync(traceId, clientSpanId, expected: "chat agg");
        // The fake upstream's server spans share the trace (the gateway propagates it); the gateway's is the client's child.
        var request = Assert.Single(spans, s => s.Source.Name == "Microsoft.AspNetCore" && s.ParentSpanId == clientSpanId);
        var moa = Assert.Single(spans, s => s.DisplayName == "moa traced");
        Assert.Equal(request.SpanId, moa.ParentSpanId);
        Assert.Equal("chat", moa.GetTagItem("gen_ai.operation.name"));
        Assert.Equal(4, moa.GetTagItem("moa.upstream_calls"));

        var layers = spans.Where(s => s.DisplayName.StartsWith("moa layer", StringComparison.Ordinal)).OrderBy(s => s.DisplayName).ToList();
        Assert.Equal(["moa layer 1", "moa layer 2"], layers.Select(s => s.DisplayName));
        Assert.All(layers, layer => Assert.Equal(moa.SpanId, layer.ParentSpanId));
        Assert.Equal(1, layers[0].GetTagItem("moa.layer.answered"));

        var a1 = Assert.Single(spans, s => s.DisplayName == "chat a1");
        Assert.Equal(layers[0].SpanId, a1.ParentSpanId);
        Assert.Equal(ActivityKind.Client, a1.Kind);
        Assert.Equal("fake", a1.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("a1", a1.GetTagItem("gen_ai.request.model"));
        Assert.Equal("proposer", a1.GetTagItem("moa.role"));
        Assert.Equal(11, a1.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3, a1.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(["stop"], (string[])a1.GetTagItem("gen_ai.response.finish_reasons")!);

        var a2 = Assert.Single(spans, s => s.DisplayName == "chat a2");
        Assert.Equal(ActivityStatusCode.Error, a2.Status);
        Assert.Equal("http_400", a2.GetTagItem("error.type"));

        var b1 = Assert.Single(spans, s => s.DisplayName == "chat b1");
        Assert.Equal(layers[1].SpanId, b1.ParentSpanId);

        var aggregator = Assert.Single(spans, s => s.DisplayName == "chat agg");
        Assert.Equal(moa.SpanId, aggregator.ParentSpanId);
        Assert.Equal("aggregator", aggregator.GetTagItem("moa.role"));
        Assert.Equal(0.3f, aggregator.GetTagItem("gen_ai.request.temperature"));

        // Every agent call made exactly one upstream HTTP request, and HttpClient's span for it is the agent span's child.
        foreach (var agent in new[] { a1, a2, b1, aggregator })
        {
            var http = Assert.Single(spans, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == agent.SpanId);
            Assert.Equal(ActivityKind.Client, http.Kind);
        }
    }

    [Fact]
    public async Task A_failed_request_is_recorded_as_an_error_on_its_span()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Reply("only", new FakeReply { Status = 400 });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", upstream).Model("failing", [["only"]], "agg"));
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpanId = ActivitySpanId.CreateRandom();

        await SendAsync(gateway, "failing", traceId, clientSpanId);

        var spans = await SpansOfAsync(traceId, clientSpanId, expected: "moa failing");
        var moa = Assert.Single(spans, s => s.DisplayName == "moa failing");
        Assert.Equal(ActivityStatusCode.Error, moa.Status);
        Assert.StartsWith("Proposer layer 1 got 0 answer(s)", moa.StatusDescription, StringComparison.Ordinal);
        Assert.Equal(ActivityStatusCode.Error, Assert.Single(spans, s => s.DisplayName == "moa layer 1").Status);
    }

    [Fact]
    public async Task Each_sample_has_a_span_of_its_own_with_its_index_and_seed()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("sampled", [["s"]], "agg")
            .Set("MoaGateway:Models:sampled:Layers:0:Agents:0:Samples", "2"));
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpanId = ActivitySpanId.CreateRandom();

        await SendAsync(gateway, "sampled", traceId, clientSpanId);

        var spans = await SpansOfAsync(traceId, clientSpanId, expected: "chat agg");
        var samples = spans.Where(s => s.DisplayName == "chat s").OrderBy(s => (int)s.GetTagItem("moa.sample")!).ToList();
        Assert.Equal([0, 1], samples.Select(s => s.GetTagItem("moa.sample")));
        Assert.All(samples, s => Assert.Equal(0, s.GetTagItem("moa.agent")));
        Assert.Equal(2, samples.Select(s => s.GetTagItem("gen_ai.request.seed")).Distinct().Count());
        Assert.Null(Assert.Single(spans, s => s.DisplayName == "chat agg").GetTagItem("moa.sample"));
    }

    [Fact]
    public async Task The_request_span_carries_the_cost_of_the_mixture()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("priced", [["p"]], "agg")
            .Set("MoaGateway:Pricing:0:Model", "fake/*")
            .Set("MoaGateway:Pricing:0:InputPerMillion", "100")
            .Set("MoaGateway:Pricing:0:OutputPerMillion", "100"));
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpanId = ActivitySpanId.CreateRandom();

        await SendAsync(gateway, "priced", traceId, clientSpanId);

        // Two calls of 11 prompt and 3 completion tokens at 100 dollars per million.
        var request = Assert.Single(await SpansOfAsync(traceId, clientSpanId, expected: "chat agg"), s => s.ParentSpanId == clientSpanId);
        Assert.Equal((double)(2 * 14 * 100m / 1_000_000m), (double)request.GetTagItem("moa.cost.usd")!, 12);
        Assert.Equal(true, request.GetTagItem("moa.cost.complete"));
    }

    private static async Task SendAsync(GatewayHost gateway, string model, ActivityTraceId traceId, ActivitySpanId clientSpanId)
    {
        // No header propagation by the test's own client: the traceparent below is the only one.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{clientSpanId}-01");
        using var _ = await client.SendAsync(request);
    }

    private async Task<List<Activity>> SpansOfAsync(ActivityTraceId traceId, ActivitySpanId clientSpanId, string expected)
    {
        await Eventually.True(() => _spans.Any(s => s.TraceId == traceId && s.DisplayName == expected));
        // The request span ends after the response is written; wait for it too.
        await Eventually.True(() => _spans.Any(s => s.TraceId == traceId && s.ParentSpanId == clientSpanId));
        return [.. _spans.Where(s => s.TraceId == traceId)];
    }
}
