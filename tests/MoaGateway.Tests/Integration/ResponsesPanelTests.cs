using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Responses;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// <c>moa.include_proposals</c> on <c>POST /v1/responses</c>: the panel as <c>moa.*</c> events of the stream, numbered
/// with the rest, and as the response's <c>moa.proposals</c>.
/// </summary>
public sealed class ResponsesPanelTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Set("MoaGateway:KeepAliveSeconds", "60");

    private static JsonObject Request(bool stream) => new()
    {
        ["model"] = "duo",
        ["stream"] = stream,
        ["input"] = "Hi",
        ["moa"] = new JsonObject { ["include_proposals"] = true },
    };

    [Fact]
    public async Task Streamed_panel_events_are_moa_events_numbered_with_the_rest_before_the_answers_first_item()
    {
        Upstream.Reply("p1", new FakeReply { Text = "the first proposer's view", TokenDelay = TimeSpan.FromMilliseconds(5) });
        Upstream.Reply("p2", new FakeReply { Status = 500, ErrorMessage = "p2 is down" });
        Upstream.Reply("agg", new FakeReply { Text = "one two three" });

        using var response = await Gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonContent.Create(Request(stream: true)) },
            HttpCompletionOption.ResponseHeadersRead);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        ResponsesStreamTests.AssertWellFormed(transcript);
        var types = transcript.JsonEvents.Select(e => e["type"]!.GetValue<string>()).ToList();
        Assert.Equal(["response.created", "response.in_progress"], types.Take(2));
        var lastPanel = types.FindLastIndex(type => type.StartsWith("moa.", StringComparison.Ordinal));
        Assert.Equal("moa.layer.done", types[lastPanel]);
        Assert.True(lastPanel < types.IndexOf("response.output_item.added"), string.Join(", ", types));
        Assert.Equal("response.completed", types[^1]);

        var panel = PanelEvents.OfResponses(transcript);
        Assert.Equal("the first proposer's view", panel.Texts()[(1, 0, null)]);
        Assert.Equal("failed", panel.Done("p2")["status"]!.GetValue<string>());
        Assert.Contains("p2 is down", panel.Done("p2")["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var layer = panel.Named("layer.done").Single();
        Assert.Equal((1, 1, 1), (layer["layer"]!.GetValue<int>(), layer["answered"]!.GetValue<int>(), layer["failed"]!.GetValue<int>()));
        Assert.Equal(
            ["type", "sequence_number", "layer", "agent", "sample", "provider", "model", "delta"],
            transcript.JsonEvents.First(e => e["type"]!.GetValue<string>() == "moa.proposal.delta").Select(field => field.Key));
    }

    [Fact]
    public async Task A_non_streamed_response_carries_the_proposals_beside_its_output()
    {
        Upstream.Reply("agg", new FakeReply { Text = "one two three" });

        using var response = await Gateway.Http.PostAsJsonAsync("/v1/responses", Request(stream: false));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("one two three", body["output_text"]!.GetValue<string>());
        Assert.Equal(
            [("p1", "answer from p1"), ("p2", "answer from p2")],
            body["moa"]!["proposals"]!.AsArray().Select(p => (p!["model"]!.GetValue<string>(), p["content"]!.GetValue<string>())));
    }

    [Fact]
    public async Task The_official_sdk_streaming_a_panel_response_reads_past_the_panel_and_yields_the_answer_unchanged()
    {
        Upstream.Reply("p1", new FakeReply { Text = "a proposer's many words", TokenDelay = TimeSpan.FromMilliseconds(2) });
        Upstream.Reply("agg", new FakeReply { Text = "the aggregator alone speaks here" });
        var options = new CreateResponseOptions("duo", [ResponseItem.CreateUserMessageItem("Hi")]) { StreamingEnabled = true };
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send a field its model types do not have.
        options.Patch.Set("$.moa"u8, BinaryData.FromString("""{ "include_proposals": true }"""));
#pragma warning restore SCME0001

        var text = "";
        ResponseResult? completed = null;
        await foreach (var update in await Gateway.ResponsesClient().CreateResponseStreamingAsync(options))
        {
            text += (update as StreamingResponseOutputTextDeltaUpdate)?.Delta;
            completed ??= (update as StreamingResponseCompletedUpdate)?.Response;
        }

        Assert.Equal("the aggregator alone speaks here", text);
        Assert.Equal("the aggregator alone speaks here", completed?.GetOutputText());
        Assert.Equal(3, Upstream.Requests.Count);
    }
}
