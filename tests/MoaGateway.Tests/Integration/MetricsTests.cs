using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The gateway's metrics, caught in-process and told apart from other tests' by a virtual model id of their own.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly MeterListener _listener = new();

    public MetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "MoaGateway")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task Requests_upstream_calls_tokens_errors_and_stragglers_are_measured()
    {
        var model = $"metered-{Guid.NewGuid():N}";
        var failing = $"flaky-{Guid.NewGuid():N}";
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Reply(failing, new FakeReply { Status = 503, FailTimes = 1 });
        upstream.Reply("slow", new FakeReply { Delay = TimeSpan.FromSeconds(30) });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model(model, [[failing, "fast", "slow"]], "agg")
            .Set($"MoaGateway:Models:{model}:Layers:0:Quorum", "2")
            .Set($"MoaGateway:Models:{model}:Layers:0:StragglerGraceMs", "50"));

        using var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model,
            stream = true,
            messages = new[] { new { role = "user", content = "Hi" } },
        });
        await response.Content.ReadAsStringAsync();
        await Eventually.True(() => Of("moa.request.duration", model).Count == 1);

        var request = Assert.Single(Of("moa.request.duration", model));
        Assert.Equal(true, request.Tags["moa.stream"]);
        Assert.Equal("ok", request.Tags["moa.outcome"]);
        Assert.Single(Of("moa.request.time_to_first_token", model));

        var calls = Of("gen_ai.client.operation.duration", model);
        Assert.Equal(4, calls.Count);
        Assert.Equal(3, calls.Count(c => (string?)c.Tags["moa.role"] == "proposer"));
        Assert.Equal("agg", Assert.Single(calls, c => (string?)c.Tags["moa.role"] == "aggregator").Tags["gen_ai.request.model"]);
        Assert.Equal("straggler", Assert.Single(calls, c => (string?)c.Tags["gen_ai.request.model"] == "slow").Tags["error.type"]);

        var tokens = Of("gen_ai.client.token.usage", model);
        Assert.Equal(3 * 11, tokens.Where(t => (string?)t.Tags["gen_ai.token.type"] == "input").Sum(t => t.Value));
        Assert.Equal(3 * 3, tokens.Where(t => (string?)t.Tags["gen_ai.token.type"] == "output").Sum(t => t.Value));

        var error = Assert.Single(_measurements, m => m.Instrument == "moa.upstream.errors" && (string?)m.Tags["gen_ai.request.model"] == failing);
        Assert.Equal("http_503", error.Tags["error.type"]);
        Assert.Equal("slow", Assert.Single(Of("moa.stragglers.cut", model)).Tags["gen_ai.request.model"]);

        var streams = Of("moa.streams.active", model);
        Assert.Equal([1.0, -1.0], streams.Select(s => s.Value));
    }

    [Fact]
    public async Task Circuit_open_errors_are_counted_for_the_provider_and_the_model_whose_circuit_opened()
    {
        var failing = $"flaky-{Guid.NewGuid():N}";
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Reply(failing, new FakeReply { Status = 503 });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("m", [[failing, "steady"]], "agg")
            .Set("MoaGateway:Providers:fake:Retry:MaxRetries", "0")
            .Set("MoaGateway:Providers:fake:CircuitBreaker:MinimumThroughput", "3"));

        for (var i = 0; i < 4; i++)
        {
            using var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "m", messages = new[] { new { role = "user", content = "Hi" } } });
            await response.Content.ReadAsStringAsync();
        }

        var errors = _measurements.Where(m => m.Instrument == "moa.upstream.errors" && (string?)m.Tags["gen_ai.request.model"] == failing).ToList();
        Assert.Equal(["http_503", "http_503", "http_503", "circuit_open"], errors.Select(e => (string?)e.Tags["error.type"]));
        Assert.All(errors, e => Assert.Equal("fake", e.Tags["gen_ai.provider.name"]));
    }

    private List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Of(string instrument, string model) =>
        [.. _measurements.Where(m => m.Instrument == instrument && (string?)m.Tags.GetValueOrDefault("moa.model") == model)];

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var (key, tagValue) in tags)
        {
            copy[key] = tagValue;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }
}
