using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Moa;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>What each layer's agents and the aggregator received, read from the fake upstream's records.</summary>
public sealed class PromptFlowTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings()
            .Provider("fake", upstream)
            .Model("two-layers", [["a1", "a2", "a3"], ["b1", "b2"]], "agg")
            .Set("MoaGateway:Models:two-layers:Layers:0:Agents:0:Temperature", "0.25")
            .Set("MoaGateway:Models:two-layers:Layers:0:Agents:0:MaxTokens", "77")
            .Set("MoaGateway:Models:two-layers:Aggregator:Temperature", "0.5")
            .Set("MoaGateway:Models:two-layers:Aggregator:MaxTokens", "900");
    }

    [Fact]
    public async Task Layer_one_agents_receive_the_client_messages_unchanged()
    {
        var messages = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "You are terse." },
            new JsonObject { ["role"] = "user", ["content"] = "What is 2+2?" },
            new JsonObject { ["role"] = "assistant", ["content"] = "4." },
            new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "And 3+3?" }) });

        await PostAsync(messages);

        foreach (var agent in new[] { "a1", "a2", "a3" })
        {
            var received = Assert.Single(Upstream.RequestsFor(agent)).Messages;
            Assert.True(JsonNode.DeepEquals(OpenAiForm(messages), received), $"{agent} received {received.ToJsonString()}");
        }
    }

    [Fact]
    public async Task Later_layers_and_aggregator_see_only_the_previous_layers_answers_as_numbered_references()
    {
        await PostAsync(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Name a colour." }));

        var layerOneReferences = AggregatePrompt.Build(AggregatePrompt.Default, ["answer from a1", "answer from a2", "answer from a3"]);
        foreach (var agent in new[] { "b1", "b2" })
        {
            var request = Assert.Single(Upstream.RequestsFor(agent));
            Assert.Equal(layerOneReferences, request.SystemText);
            Assert.Equal("Name a colour.", request.Messages[1]!["content"]!.GetValue<string>());
        }

        var aggregator = Assert.Single(Upstream.RequestsFor("agg"));
        Assert.Equal(AggregatePrompt.Build(AggregatePrompt.Default, ["answer from b1", "answer from b2"]), aggregator.SystemText);
        Assert.DoesNotContain("answer from a1", aggregator.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task References_are_appended_to_the_clients_own_system_message_after_a_blank_line()
    {
        await PostAsync(new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "Answer in French." },
            new JsonObject { ["role"] = "user", ["content"] = "Hello" }));

        var aggregator = Assert.Single(Upstream.RequestsFor("agg"));
        Assert.Equal(2, aggregator.Messages.Count);
        Assert.StartsWith("Answer in French.\n\nYou have been provided with a set of responses", aggregator.SystemText, StringComparison.Ordinal);
        Assert.EndsWith("Responses from models:\n1. answer from b1\n2. answer from b2", aggregator.SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Multi_turn_history_reaches_every_agent_whole()
    {
        var history = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "First question" },
            new JsonObject { ["role"] = "assistant", ["content"] = "First answer" },
            new JsonObject { ["role"] = "user", ["content"] = "Second question" });

        await PostAsync(history);

        foreach (var request in Upstream.Requests.Where(r => r.Model is "b1" or "b2" or "agg"))
        {
            // A system message with the references comes first; the history follows untouched.
            Assert.Equal("system", request.Messages[0]!["role"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(history, new JsonArray([.. request.Messages.Skip(1).Select(m => m!.DeepClone())])));
        }
    }

    [Fact]
    public async Task Client_parameters_reach_the_aggregator_only_and_agents_keep_their_configured_settings()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new JsonObject
        {
            ["model"] = "two-layers",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" }),
            ["temperature"] = 1.3,
            ["top_p"] = 0.9,
            ["max_tokens"] = 321,
            ["stop"] = new JsonArray("END"),
            ["seed"] = 42,
            ["user"] = "user-7",
            ["top_k"] = 20,
            ["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["parameters"] = new JsonObject { ["type"] = "object" } },
            }),
            ["tool_choice"] = "auto",
            ["response_format"] = new JsonObject { ["type"] = "json_object" },
        });
        response.EnsureSuccessStatusCode();

        var aggregator = Assert.Single(Upstream.RequestsFor("agg")).Json;
        Assert.Equal(1.3, aggregator["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(0.9, aggregator["top_p"]!.GetValue<double>(), 3);
        Assert.Equal(321, aggregator["max_tokens"]!.GetValue<int>());
        Assert.Equal("END", aggregator["stop"]![0]!.GetValue<string>());
        Assert.Equal(42, aggregator["seed"]!.GetValue<int>());
        Assert.Equal("user-7", aggregator["user"]!.GetValue<string>());
        Assert.Equal(20, aggregator["top_k"]!.GetValue<int>());
        Assert.Equal("get_weather", aggregator["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("auto", aggregator["tool_choice"]!.GetValue<string>());
        Assert.Equal("json_object", aggregator["response_format"]!["type"]!.GetValue<string>());
        Assert.True(aggregator["stream"]!.GetValue<bool>(), "the aggregator is always streamed upstream");

        var proposer = Assert.Single(Upstream.RequestsFor("a1")).Json;
        Assert.Equal(0.25, proposer["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(77, proposer["max_tokens"]!.GetValue<int>());
        foreach (var field in new[] { "top_p", "stop", "seed", "user", "top_k", "tools", "tool_choice", "response_format" })
        {
            Assert.False(proposer.ContainsKey(field), $"proposer received client field '{field}'");
        }
    }

    [Fact]
    public async Task Aggregator_uses_its_configured_settings_when_the_client_sets_none()
    {
        await PostAsync(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }));

        var aggregator = Assert.Single(Upstream.RequestsFor("agg")).Json;
        Assert.Equal(0.5, aggregator["temperature"]!.GetValue<double>(), 3);
        Assert.Equal(900, aggregator["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Agents_of_a_layer_run_concurrently_and_the_next_layer_waits_for_all_of_them()
    {
        foreach (var agent in new[] { "a1", "a2", "a3" })
        {
            Upstream.Reply(agent, new FakeReply { Delay = TimeSpan.FromMilliseconds(200) });
        }

        await PostAsync(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }));

        var layerOne = Upstream.Requests.Where(r => r.Model is "a1" or "a2" or "a3").ToList();
        var layerTwo = Upstream.Requests.Where(r => r.Model is "b1" or "b2").ToList();
        Assert.True(layerOne.Max(r => r.StartedTicks) < layerOne.Min(r => r.RespondedTicks), "layer 1 agents did not overlap");
        Assert.True(layerTwo.Min(r => r.StartedTicks) > layerOne.Max(r => r.RespondedTicks), "layer 2 started before every layer 1 agent answered");
    }

    /// <summary>
    /// The conversation as the OpenAI SDK puts it on the wire: identical, except that content made of one text part is
    /// sent as the equivalent plain string, as the API defines them to mean the same.
    /// </summary>
    private static JsonArray OpenAiForm(JsonArray messages)
    {
        var copy = messages.DeepClone().AsArray();
        foreach (var message in copy)
        {
            if (message!["content"] is JsonArray and [JsonObject { Count: 2 } part] && part["type"]!.GetValue<string>() == "text")
            {
                message["content"] = part["text"]!.GetValue<string>();
            }
        }

        return copy;
    }

    private async Task PostAsync(JsonArray messages)
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new JsonObject
        {
            ["model"] = "two-layers",
            ["messages"] = messages.DeepClone(),
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
