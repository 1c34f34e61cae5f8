using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// The panel in a streamed chat completion, read raw: <c>moa</c> chunks without choices while the layers run, then the
/// aggregator's chunks as without the panel.
/// </summary>
public sealed partial class PanelStreamTests : GatewayTest
{
    /// <summary>
    /// The default stream of <c>duo</c> whose aggregator says "one two three", to the byte, the completion's id and time
    /// aside: what every client that does not ask for the panel has always received.
    /// </summary>
    private const string DefaultTranscript =
        """data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"duo","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"one"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
        """data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"duo","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" two"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
        """data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"duo","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" three"},"logprobs":null,"finish_reason":null}]}""" + "\n\n" +
        """data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"duo","system_fingerprint":null,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}""" + "\n\n" +
        "data: [DONE]\n\n";

    /// <summary>Keep-alive comments only after a minute, so that a transcript holds nothing that depends on timing.</summary>
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Model("two-layers", [["a1", "a2"], ["b1"]], "agg")
        .Model("strict", [["p1", "p2"]], "agg")
        .Set("MoaGateway:Models:strict:Layers:0:MinAgents", "2")
        .Model("sampled", [["s", "p1"]], "agg")
        .Set("MoaGateway:Models:sampled:Layers:0:Agents:0:Samples", "2")
        .Set("MoaGateway:KeepAliveSeconds", "60");

    private static JsonObject Body(string model, JsonNode? moa)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["stream"] = true,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Stream please" }),
        };
        if (moa is not null)
        {
            body["moa"] = moa;
        }

        return body;
    }

    private static JsonObject Panel(bool on = true) => new() { ["include_proposals"] = on };

    private Task<HttpResponseMessage> PostAsync(string model, JsonNode? moa) => Gateway.Http.SendAsync(
        new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Body(model, moa)) },
        HttpCompletionOption.ResponseHeadersRead);

    private async Task<SseTranscript> StreamAsync(string model, JsonNode? moa = null)
    {
        using var response = await PostAsync(model, moa ?? Panel());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseTranscript.ReadAsync(response);
    }

    private async Task<string> RawStreamAsync(JsonNode? moa)
    {
        using var response = await PostAsync("duo", moa);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static string WithoutIdentity(string transcript) =>
        CreatedField().Replace(IdField().Replace(transcript, "\"id\":\"chatcmpl-ID\""), "\"created\":0");

    [GeneratedRegex("\"id\":\"chatcmpl-[0-9a-f]{32}\"")]
    private static partial Regex IdField();

    [GeneratedRegex("\"created\":[0-9]+")]
    private static partial Regex CreatedField();

    [Fact]
    public async Task Streamed_deltas_rebuild_each_proposers_exact_text_and_all_arrive_before_the_aggregators_first_content()
    {
        var texts = new Dictionary<string, string>
        {
            ["a1"] = "alpha beta gamma delta",
            ["a2"] = "one two three four five",
            ["b1"] = "the second layer read both",
        };
        foreach (var (model, text) in texts)
        {
            Upstream.Reply(model, new FakeReply { Text = text, TokenDelay = TimeSpan.FromMilliseconds(5) });
        }

        Upstream.Reply("agg", new FakeReply { Text = "final answer" });

        var transcript = await StreamAsync("two-layers");

        Assert.True(transcript.EndedWithDone);
        Assert.Equal("final answer", transcript.Content);
        var panel = PanelEvents.OfChat(transcript);
        Assert.Equal(
            new Dictionary<(int, int, int?), string> { [(1, 0, null)] = texts["a1"], [(1, 1, null)] = texts["a2"], [(2, 0, null)] = texts["b1"] },
            panel.Texts());
        var events = transcript.JsonEvents.ToList();
        var firstContent = events.FindIndex(e => e["choices"] is JsonArray { Count: > 0 });
        var lastPanel = events.FindLastIndex(e => e["moa"] is not null);
        Assert.True(lastPanel < firstContent, $"a panel event at {lastPanel} follows the first content chunk at {firstContent}");
        Assert.All(events.Where(e => e["moa"] is not null), e =>
        {
            Assert.Equal("chat.completion.chunk", e["object"]!.GetValue<string>());
            Assert.Equal(events[firstContent]["id"]!.GetValue<string>(), e["id"]!.GetValue<string>());
            Assert.Empty(e["choices"]!.AsArray());
        });
        var delta = panel.Named("proposal.delta").First();
        Assert.Equal(["event", "layer", "agent", "sample", "provider", "model", "delta"], delta.Select(field => field.Key));
        Assert.Equal("fake", delta["provider"]!.GetValue<string>());
        Assert.Null(delta["sample"]);
    }

    [Fact]
    public async Task Proposers_are_streamed_live_while_they_are_still_answering()
    {
        var release = new TaskCompletionSource();
        Upstream.Reply("p1", new FakeReply { Text = "early words then more", HoldAfterFirstToken = release.Task });

        using var response = await PostAsync("duo", Panel());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            lines.Add(line);
            if (line.Contains("\"proposal.delta\"", StringComparison.Ordinal) && line.Contains("\"model\":\"p1\"", StringComparison.Ordinal))
            {
                break;
            }
        }

        // p1 holds everything after its first token, and that first token is already with the client.
        Assert.False(release.Task.IsCompleted);
        Assert.Contains("\"delta\":\"early\"", lines[^1], StringComparison.Ordinal);
        release.SetResult();
        lines.AddRange((await reader.ReadToEndAsync()).Split('\n'));
        var transcript = new SseTranscript([.. lines.Where(line => line.Length > 0)], BrokenBy: null);
        Assert.True(transcript.EndedWithDone);
        Assert.Equal("early words then more", PanelEvents.OfChat(transcript).Texts()[(1, 0, null)]);
    }

    [Fact]
    public async Task Each_call_ends_with_proposal_done_and_each_layer_with_layer_done_and_its_counts()
    {
        Upstream.Reply("p2", new FakeReply { Status = 500, ErrorMessage = "p2 is down" });

        var panel = PanelEvents.OfChat(await StreamAsync("duo"));

        var answered = panel.Done("p1");
        Assert.Equal(
            ["event", "layer", "agent", "sample", "provider", "model", "status", "usage", "duration_ms", "time_to_first_token_ms", "error"],
            answered.Select(field => field.Key));
        Assert.Equal("answered", answered["status"]!.GetValue<string>());
        Assert.Equal(11, answered["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(3, answered["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.True(answered["duration_ms"]!.GetValue<double>() > 0);
        Assert.Null(answered["error"]);
        var failed = panel.Done("p2");
        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Contains("p2 is down", failed["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(failed["usage"]);
        var layer = Assert.Single(panel.Named("layer.done"));
        Assert.Equal(JsonNode.Parse("""{"event":"layer.done","layer":1,"answered":1,"failed":1}"""), layer, JsonNode.DeepEquals);
        Assert.Same(panel.Events[^1], layer);
    }

    [Fact]
    public async Task Every_layer_of_a_two_layer_mixture_ends_with_its_own_layer_done()
    {
        var panel = PanelEvents.OfChat(await StreamAsync("two-layers"));

        Assert.Equal(
            [(1, 2, 0), (2, 1, 0)],
            panel.Named("layer.done").Select(e => (e["layer"]!.GetValue<int>(), e["answered"]!.GetValue<int>(), e["failed"]!.GetValue<int>())));
        // Layer 2 starts only once layer 1 is over: each layer's events come before the next layer's.
        var layerOneDone = panel.Events.ToList().FindIndex(e => e["event"]!.GetValue<string>() == "layer.done");
        Assert.All(panel.Events.Take(layerOneDone), e => Assert.Equal(1, e["layer"]!.GetValue<int>()));
        Assert.All(panel.Events.Skip(layerOneDone + 1), e => Assert.Equal(2, e["layer"]!.GetValue<int>()));
    }

    [Fact]
    public async Task An_empty_answer_is_reported_empty_with_its_reason()
    {
        Upstream.Reply("p2", new FakeReply { Text = "  " });

        var panel = PanelEvents.OfChat(await StreamAsync("duo"));

        var empty = panel.Done("p2");
        Assert.Equal("empty", empty["status"]!.GetValue<string>());
        Assert.Equal("fake/p2 answered with no text.", empty["error"]!.GetValue<string>());
        Assert.Equal("  ", panel.Texts()[(1, 1, null)]);
        Assert.Equal(JsonNode.Parse("""{"event":"layer.done","layer":1,"answered":1,"failed":1}"""), panel.Named("layer.done").Single(), JsonNode.DeepEquals);
    }

    [Fact]
    public async Task Samples_carry_their_sample_index_and_text_of_their_own()
    {
        var panel = PanelEvents.OfChat(await StreamAsync("sampled"));

        var samples = panel.Named("proposal.done").Where(e => e["model"]!.GetValue<string>() == "s").ToList();
        Assert.Equal([0, 1], samples.Select(e => e["sample"]!.GetValue<int>()).Order());
        Assert.All(samples, e => Assert.Equal(0, e["agent"]!.GetValue<int>()));
        Assert.Null(panel.Done("p1")["sample"]);
        Assert.Equal(1, panel.Done("p1")["agent"]!.GetValue<int>());
        var texts = panel.Texts();
        Assert.StartsWith("answer from s (seed ", texts[(1, 0, 0)], StringComparison.Ordinal);
        Assert.StartsWith("answer from s (seed ", texts[(1, 0, 1)], StringComparison.Ordinal);
        Assert.NotEqual(texts[(1, 0, 0)], texts[(1, 0, 1)]);
        Assert.Equal("answer from p1", texts[(1, 1, null)]);
    }

    [Fact]
    public async Task A_proposer_retried_after_it_sent_text_sends_proposal_retry_and_its_text_starts_over()
    {
        Upstream.Reply("p1", new FakeReply { Text = "cut here, then whole", BreakAfterFirstToken = true, FailTimes = 1 });

        var panel = PanelEvents.OfChat(await StreamAsync("duo"));

        var p1 = panel.Events.Where(e => e["model"]?.GetValue<string>() == "p1").Select(e => e["event"]!.GetValue<string>()).ToList();
        var retry = Assert.Single(panel.Named("proposal.retry"));
        Assert.Equal(2, retry["attempt"]!.GetValue<int>());
        Assert.Equal("proposal.delta", p1[0]);
        Assert.True(p1.IndexOf("proposal.retry") > 0, string.Join(", ", p1));
        Assert.Equal("proposal.done", p1[^1]);
        Assert.Equal("cut here, then whole", panel.Texts()[(1, 0, null)]);
        Assert.Equal("answered", panel.Done("p1")["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_layer_that_fails_sends_its_panel_events_then_an_error_event_and_breaks_the_connection()
    {
        Upstream.Reply("p2", new FakeReply { Status = 500 });

        var transcript = await StreamAsync("strict");

        var error = transcript.AssertCutOff();
        Assert.Equal("upstream_error", error["type"]!.GetValue<string>());
        Assert.Contains("fewer than the 2 it needs", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var panel = PanelEvents.OfChat(transcript);
        Assert.Equal("failed", panel.Done("p2")["status"]!.GetValue<string>());
        Assert.Equal(JsonNode.Parse("""{"event":"layer.done","layer":1,"answered":1,"failed":1}"""), panel.Named("layer.done").Single(), JsonNode.DeepEquals);
        Assert.Empty(Upstream.RequestsFor("agg"));
    }

    [Fact]
    public async Task A_client_that_does_not_ask_gets_the_default_stream_byte_for_byte()
    {
        Upstream.Reply("agg", new FakeReply { Text = "one two three" });

        Assert.Equal(DefaultTranscript, WithoutIdentity(await RawStreamAsync(moa: null)));
        Assert.Equal(DefaultTranscript, WithoutIdentity(await RawStreamAsync(Panel(on: false))));
        Assert.Equal(DefaultTranscript, WithoutIdentity(await RawStreamAsync(new JsonObject())));
    }

    [Fact]
    public async Task The_panel_only_adds_its_own_chunks_to_the_default_stream()
    {
        Upstream.Reply("agg", new FakeReply { Text = "one two three" });

        var withPanel = WithoutIdentity(await RawStreamAsync(Panel()));

        var events = withPanel.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var panelChunks = events.Where(e => e.Contains("\"choices\":[],\"moa\":{", StringComparison.Ordinal)).ToList();
        Assert.Equal(2 + 2 + 1, panelChunks.Count); // p1 and p2 answer in one delta each, then their ends, then the layer's
        Assert.Equal(DefaultTranscript, string.Concat(events.Except(panelChunks).Select(e => e + "\n\n")));
    }
}
