using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>Only usable answers make references, MinAgents and quorums; long ones can be capped.</summary>
public sealed class UsableAnswersTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("one-needed", [["e", "p"]], "agg")
        .Model("two-needed", [["e", "p"]], "agg")
        .Set("MoaGateway:Models:two-needed:Layers:0:MinAgents", "2")
        .Model("quorum", [["e", "p", "slow"]], "agg")
        .Set("MoaGateway:Models:quorum:Layers:0:Quorum", "2")
        .Set("MoaGateway:Models:quorum:Layers:0:StragglerGraceMs", "0")
        .Model("capped", [["p"]], "agg")
        .Set("MoaGateway:Models:capped:MaxReferenceCharacters", "6");

    private async Task<(HttpStatusCode Status, JsonNode Body)> AskAsync(string model)
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Hi" } } });
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static JsonNode Entry(JsonNode body, string model) =>
        body["usage"]!["moa"]!["layers"]![0]!["agents"]!.AsArray().Single(agent => agent!["model"]!.GetValue<string>() == model)!;

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_empty_answer_is_reported_empty_and_left_out_of_the_references(string text)
    {
        Upstream.Reply("e", new FakeReply { Text = text });

        var (status, body) = await AskAsync("one-needed");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("empty", Entry(body, "e")["status"]!.GetValue<string>());
        Assert.Equal("fake/e answered with no text.", Entry(body, "e")["error"]!.GetValue<string>());
        Assert.EndsWith("Responses from models:\n1. answer from p", Assert.Single(Upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_answer_counts_as_failed_toward_MinAgents()
    {
        Upstream.Reply("e", new FakeReply { Text = " " });

        var (status, body) = await AskAsync("two-needed");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal(
            "Proposer layer 1 got 1 answer(s), fewer than the 2 it needs (fake/e answered with no text.).",
            body["error"]!["message"]!.GetValue<string>());
        Assert.Empty(Upstream.RequestsFor("agg"));
    }

    [Fact]
    public async Task The_quorum_counts_only_usable_answers_so_an_empty_one_does_not_cut_a_slower_real_one()
    {
        Upstream.Reply("e", new FakeReply { Text = "" });
        Upstream.Reply("slow", new FakeReply { Delay = TimeSpan.FromMilliseconds(500) });

        var (status, body) = await AskAsync("quorum");

        Assert.Equal(HttpStatusCode.OK, status);
        // Counting the empty answer, p would have made the quorum of 2 and slow been cut at once (grace 0).
        Assert.Equal("answered", Entry(body, "slow")["status"]!.GetValue<string>());
        Assert.EndsWith("\n1. answer from p\n2. answer from slow", Assert.Single(Upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_that_reached_its_token_limit_before_any_text_is_empty()
    {
        const string chunk = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"e","choices":[{"index":0,"delta":DELTA,"finish_reason":FINISH}]}""";
        Upstream.Reply("e", new FakeReply
        {
            EventStream =
            [
                $"data: {chunk.Replace("DELTA", """{"role":"assistant"}""", StringComparison.Ordinal).Replace("FINISH", "null", StringComparison.Ordinal)}\n\n",
                $"data: {chunk.Replace("DELTA", "{}", StringComparison.Ordinal).Replace("FINISH", "\"length\"", StringComparison.Ordinal)}\n\n",
                "data: [DONE]\n\n",
            ],
        });

        var (status, body) = await AskAsync("one-needed");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("empty", Entry(body, "e")["status"]!.GetValue<string>());
        Assert.Equal("fake/e reached its token limit before any text.", Entry(body, "e")["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reference_beyond_MaxReferenceCharacters_reaches_the_aggregator_cut_and_marked()
    {
        var (status, _) = await AskAsync("capped");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.EndsWith("Responses from models:\n1. answer [... truncated]", Assert.Single(Upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
    }
}
