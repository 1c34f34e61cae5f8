using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>Answers of <c>moa-lite</c> and <c>moa</c> through the official OpenAI SDK, with every upstream a recording fake.</summary>
public sealed class MoaAnswerTests : GatewayTest
{
    private static readonly string[] Six = ["p1", "p2", "p3", "p4", "p5", "p6"];

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        upstream.Reply("agg-lite", new FakeReply { Text = "The sky is blue because of Rayleigh scattering." });
        return new GatewaySettings()
            .Provider("fake", upstream)
            .Model("moa-lite", [Six], "agg-lite")
            .Model("moa", [Six, Six], "agg");
    }

    [Fact]
    public async Task Non_stream_moa_lite_answers_with_the_aggregator_after_six_proposers()
    {
        ChatCompletion completion = await Gateway.ChatClient("moa-lite").CompleteChatAsync([new UserChatMessage("Why is the sky blue?")]);

        Assert.Equal("The sky is blue because of Rayleigh scattering.", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("moa-lite", completion.Model);
        Assert.Equal(Six.Order(), Upstream.Requests.Select(r => r.Model).Where(m => m.StartsWith('p')).Order());
        Assert.Single(Upstream.RequestsFor("agg-lite"));
    }

    [Fact]
    public async Task Stream_moa_runs_two_proposer_layers_then_streams_the_aggregator()
    {
        var text = new System.Text.StringBuilder();
        var updates = 0;
        await foreach (var update in Gateway.ChatClient("moa").CompleteChatStreamingAsync([new UserChatMessage("Explain MoA.")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                updates++;
            }
        }

        Assert.Equal(FakeUpstream.DefaultText("agg"), text.ToString());
        Assert.Equal(FakeUpstream.Tokens(FakeUpstream.DefaultText("agg")).Count, updates);
        Assert.Equal(13, Upstream.Requests.Count);
        foreach (var proposer in Six)
        {
            Assert.Equal(2, Upstream.RequestsFor(proposer).Count);
        }
    }

    [Fact]
    public async Task Usage_counts_everyUpstream_call_and_breaks_it_down_by_layer()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "moa",
            messages = new[] { new { role = "user", content = "Count the cost." } },
        });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var usage = body["usage"]!;

        // Each fake call reports 11 prompt tokens and one completion token per word of "answer from <model>".
        const int calls = 13;
        Assert.Equal(calls * 11, usage["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(calls * 3, usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(calls * 14, usage["total_tokens"]!.GetValue<int>());

        var moa = usage["moa"]!;
        Assert.Equal(calls, moa["upstream_calls"]!.GetValue<int>());
        var layers = moa["layers"]!.AsArray();
        Assert.Equal([1, 2], layers.Select(l => l!["layer"]!.GetValue<int>()));
        Assert.All(layers, layer =>
        {
            Assert.Equal(6 * 11, layer!["prompt_tokens"]!.GetValue<int>());
            Assert.Equal(Six, layer["agents"]!.AsArray().Select(a => a!["model"]!.GetValue<string>()));
            Assert.All(layer["agents"]!.AsArray(), agent => Assert.Equal("answered", agent!["status"]!.GetValue<string>()));
        });
        Assert.Equal("agg", moa["aggregator"]!["model"]!.GetValue<string>());
        Assert.Equal(14, moa["aggregator"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Sdk_reads_streamed_usage_when_include_usage_is_requested()
    {
        ChatTokenUsage? usage = null;
        await foreach (var update in Gateway.ChatClient("moa-lite").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            usage ??= update.Usage;
        }

        // The SDK always asks for stream usage; 6 proposers and the aggregator each report 11 prompt tokens.
        Assert.NotNull(usage);
        Assert.Equal(7 * 11, usage.InputTokenCount);
    }

    [Fact]
    public async Task Sdk_sees_an_unknown_model_as_a_404_it_can_read()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Gateway.ChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("Hi")]));

        Assert.Equal(404, error.Status);
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
        Assert.Contains("model_not_found", error.Message, StringComparison.Ordinal);
    }
}
