using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// <c>moa.include_proposals</c> on chat completions: the proposals of a non-streamed answer, who may ask, and what the
/// official SDK makes of a panel. The stream itself is in <see cref="PanelStreamTests"/>.
/// </summary>
public sealed class PanelTests : GatewayTest
{
    /// <summary>Overrides stay off, as by default: asking for the panel replaces nothing of the model.</summary>
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Model("two-layers", [["a1", "a2"], ["b1"]], "agg")
        .Model("sampled", [["s", "p1"]], "agg")
        .Set("MoaGateway:Models:sampled:Layers:0:Agents:0:Samples", "2");

    private static JsonObject Chat(string model, JsonNode? moa)
    {
        var body = new JsonObject { ["model"] = model, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }) };
        if (moa is not null)
        {
            body["moa"] = moa;
        }

        return body;
    }

    private static JsonObject Panel(JsonNode? on = null) => new() { ["include_proposals"] = on ?? true };

    private static async Task<(HttpStatusCode Status, JsonObject Body)> AskAsync(GatewayHost gateway, JsonObject body)
    {
        using var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", body);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    private Task<(HttpStatusCode Status, JsonObject Body)> AskAsync(string model, JsonNode? moa) => AskAsync(Gateway, Chat(model, moa));

    private static JsonArray Proposals(JsonObject body) => body["moa"]!["proposals"]!.AsArray();

    [Fact]
    public async Task A_non_streamed_answer_lists_every_proposer_of_every_layer_in_order()
    {
        Upstream.Reply("a2", new FakeReply { Text = "second of layer one", Delay = TimeSpan.FromMilliseconds(100) });
        Upstream.Reply("agg", new FakeReply { Text = "the final answer" });

        var (status, body) = await AskAsync("two-layers", Panel());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("the final answer", body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var proposals = Proposals(body);
        // a2 answered last, yet it is listed in its place in the mixture; the aggregator is not a proposer.
        Assert.Equal([(1, 0, "a1"), (1, 1, "a2"), (2, 0, "b1")], proposals.Select(p => (p!["layer"]!.GetValue<int>(), p["agent"]!.GetValue<int>(), p["model"]!.GetValue<string>())));
        var first = proposals[0]!.AsObject();
        Assert.Equal(
            ["layer", "agent", "sample", "provider", "model", "status", "content", "usage", "duration_ms", "time_to_first_token_ms", "error"],
            first.Select(field => field.Key));
        Assert.Null(first["sample"]);
        Assert.Equal("fake", first["provider"]!.GetValue<string>());
        Assert.Equal("answered", first["status"]!.GetValue<string>());
        Assert.Equal("answer from a1", first["content"]!.GetValue<string>());
        Assert.Equal("second of layer one", proposals[1]!["content"]!.GetValue<string>());
        Assert.Equal(
            JsonNode.Parse("""{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}"""),
            first["usage"],
            JsonNode.DeepEquals);
        Assert.True(first["duration_ms"]!.GetValue<double>() > 0);
        Assert.Null(first["error"]);
        Assert.Equal(4, body["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_failed_proposer_is_listed_with_its_status_and_error()
    {
        Upstream.Reply("p2", new FakeReply { Status = 500, ErrorMessage = "p2 is down" });

        var (status, body) = await AskAsync("duo", Panel());

        Assert.Equal(HttpStatusCode.OK, status);
        var failed = Proposals(body)[1]!;
        Assert.Equal(("p2", "failed"), (failed["model"]!.GetValue<string>(), failed["status"]!.GetValue<string>()));
        Assert.Contains("p2 is down", failed["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(failed["content"]);
        Assert.Null(failed["usage"]);
    }

    [Fact]
    public async Task An_empty_proposer_is_listed_empty_with_what_it_said()
    {
        Upstream.Reply("p1", new FakeReply { Text = " " });

        var (_, body) = await AskAsync("duo", Panel());

        var empty = Proposals(body)[0]!;
        Assert.Equal(("empty", " "), (empty["status"]!.GetValue<string>(), empty["content"]!.GetValue<string>()));
        Assert.Equal("fake/p1 answered with no text.", empty["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Samples_are_listed_each_with_its_sample_index()
    {
        var (_, body) = await AskAsync("sampled", Panel());

        Assert.Equal(
            [(0, (int?)0, "s"), (0, 1, "s"), (1, null, "p1")],
            Proposals(body).Select(p => (p!["agent"]!.GetValue<int>(), p["sample"]?.GetValue<int>(), p["model"]!.GetValue<string>())));
        Assert.NotEqual(Proposals(body)[0]!["content"]!.GetValue<string>(), Proposals(body)[1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Nothing_is_added_without_the_opt_in()
    {
        var (_, without) = await AskAsync("duo", moa: null);
        var (_, declined) = await AskAsync("duo", Panel(on: false));

        Assert.False(without.ContainsKey("moa"));
        Assert.False(declined.ContainsKey("moa"));
        Assert.Equal(
            without.Select(field => field.Key),
            declined.Select(field => field.Key));
    }

    [Fact]
    public async Task Include_proposals_must_be_true_or_false()
    {
        var (status, body) = await AskAsync("duo", Panel(on: "yes"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("moa.include_proposals", body["error"]!["param"]!.GetValue<string>());
        Assert.Equal("'moa.include_proposals' must be true or false.", body["error"]!["message"]!.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Expose_never_refuses_the_panel_with_403_before_any_upstream_call(bool stream)
    {
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", Upstream)
            .Model("duo", [["p1", "p2"]], "agg")
            .Set("MoaGateway:Panel:Expose", "never"));
        var request = Chat("duo", Panel());
        request["stream"] = stream;

        var (status, body) = await AskAsync(gateway, request);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var error = body["error"]!;
        Assert.Equal(("panel_not_allowed", "moa.include_proposals"), (error["code"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        Assert.Equal(
            "'moa.include_proposals' asks for the proposers' answers, and this gateway does not show them (MoaGateway:Panel:Expose is 'never').",
            error["message"]!.GetValue<string>());
        Assert.Empty(Upstream.Requests);

        // Declining the panel asks for nothing the gateway refuses.
        var (declined, _) = await AskAsync(gateway, Chat("duo", Panel(on: false)));
        Assert.Equal(HttpStatusCode.OK, declined);
    }

    [Fact]
    public async Task The_official_sdk_streaming_a_panel_request_yields_the_aggregators_text_unchanged()
    {
        Upstream.Reply("p1", new FakeReply { Text = "a proposer's many words", TokenDelay = TimeSpan.FromMilliseconds(2) });
        Upstream.Reply("agg", new FakeReply { Text = "the aggregator alone speaks here" });
        var options = new ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send a field its model types do not have.
        options.Patch.Set("$.moa"u8, BinaryData.FromString("""{ "include_proposals": true }"""));
#pragma warning restore SCME0001

        var text = "";
        var updates = 0;
        await foreach (var update in Gateway.ChatClient("duo").CompleteChatStreamingAsync([new UserChatMessage("Hi")], options))
        {
            updates++;
            text += string.Concat(update.ContentUpdate.Select(part => part.Text));
        }

        Assert.Equal("the aggregator alone speaks here", text);
        // The SDK yields the panel's chunks too, as updates without content, as it does the usage chunk.
        Assert.True(updates > FakeUpstream.Tokens(text).Count + 1, $"{updates} updates");

        ChatCompletion whole = await Gateway.ChatClient("duo").CompleteChatAsync([new UserChatMessage("Hi")], options);
        Assert.Equal("the aggregator alone speaks here", whole.Content[0].Text);
    }
}
