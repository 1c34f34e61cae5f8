using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;
using OpenAI.Responses;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// <c>usage.cost</c>: every upstream call of a mixture priced from <c>MoaGateway:Pricing</c>, the fake upstream reporting
/// known usage (cached and reasoning tokens included), and each expected figure worked out here by hand.
/// </summary>
public sealed class CostTests : GatewayTest, IDisposable
{
    private const decimal Million = 1_000_000m;

    // fake/* costs 2.00 in, 0.50 cached, 8.00 out; fake/agg, more specific, 1.25 in (cached too: no cached price) and 10.00 out.
    private const decimal CostOfA = ((400 * 2.00m) + (600 * 0.50m) + (5 * 8.00m)) / Million; // 1000 prompt tokens, 600 cached; 5 words
    private const decimal CostOfB = ((200 * 2.00m) + (4 * 8.00m)) / Million; // 200 prompt tokens; 4 words
    private const decimal CostOfAgg = ((1500 * 1.25m) + (6 * 10.00m)) / Million; // 1500 prompt tokens, 1000 cached at the input rate; 6 words

    private readonly ConcurrentQueue<(double Usd, Dictionary<string, object?> Tags)> _costs = new();
    private readonly MeterListener _listener = new();
    private readonly string _meteredModel = $"cost-{Guid.NewGuid():N}";

    public CostTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "MoaGateway" && instrument.Name == "moa.cost.usd")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            _costs.Enqueue((value, tags.ToArray().ToDictionary(tag => tag.Key, tag => tag.Value))));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        upstream
            .Reply("a", new FakeReply { Text = "one two three four five", PromptTokens = 1000, CachedPromptTokens = 600, ReasoningTokens = 2 })
            .Reply("b", new FakeReply { Text = "one two three four", PromptTokens = 200 })
            .Reply("agg", new FakeReply { Text = "one two three four five six", PromptTokens = 1500, CachedPromptTokens = 1000 });
        return new GatewaySettings()
            .Provider("fake", upstream)
            .Provider("other", upstream)
            .Model("mix", [["a", "b"]], "agg")
            .Model(_meteredModel, [["a", "b"]], "agg")
            .Model("partial", [["a"]], "agg")
            .Set("MoaGateway:Models:partial:Layers:0:Agents:1:Provider", "other")
            .Set("MoaGateway:Models:partial:Layers:0:Agents:1:Model", "b")
            .Set("MoaGateway:Pricing:0:Model", "fake/*")
            .Set("MoaGateway:Pricing:0:InputPerMillion", "2.00")
            .Set("MoaGateway:Pricing:0:OutputPerMillion", "8.00")
            .Set("MoaGateway:Pricing:0:CachedInputPerMillion", "0.50")
            .Set("MoaGateway:Pricing:1:Model", "fake/agg")
            .Set("MoaGateway:Pricing:1:InputPerMillion", "1.25")
            .Set("MoaGateway:Pricing:1:OutputPerMillion", "10.00");
    }

    [Fact]
    public async Task Usage_cost_is_the_sum_of_every_call_priced_by_its_most_specific_entry_cached_tokens_at_the_cached_rate()
    {
        var usage = await UsageAsync("mix");

        Assert.Equal(CostOfA + CostOfB + CostOfAgg, usage["cost"]!.GetValue<decimal>());
        Assert.True(usage["cost_complete"]!.GetValue<bool>());
        var agents = usage["moa"]!["layers"]![0]!["agents"]!.AsArray();
        Assert.Equal(CostOfA, Agent(agents, "a")["cost"]!.GetValue<decimal>());
        Assert.Equal(CostOfB, Agent(agents, "b")["cost"]!.GetValue<decimal>());
        Assert.Equal(CostOfAgg, usage["moa"]!["aggregator"]!["cost"]!.GetValue<decimal>());
        Assert.All(agents, agent => Assert.Null(agent!["cost_complete"]));
    }

    [Fact]
    public async Task Cached_and_reasoning_tokens_are_summed_into_the_usage_details_and_each_call()
    {
        var usage = await UsageAsync("mix");

        Assert.Equal(600 + 1000, usage["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
        Assert.Equal(2, usage["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
        var a = Agent(usage["moa"]!["layers"]![0]!["agents"]!.AsArray(), "a");
        Assert.Equal(600, a["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
        Assert.Equal(2, a["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
        Assert.Equal(1000, usage["moa"]!["aggregator"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_streamed_usage_chunk_carries_the_cost_and_the_sdk_reads_its_details()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "mix",
            stream = true,
            stream_options = new { include_usage = true },
            messages = new[] { new { role = "user", content = "Hi" } },
        });
        var transcript = await SseTranscript.ReadAsync(response);
        ChatTokenUsage? sdkUsage = null;
        await foreach (var update in Gateway.ChatClient("mix").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            sdkUsage ??= update.Usage;
        }

        Assert.True(transcript.EndedWithDone);
        var usage = transcript.JsonEvents[^1]["usage"]!;
        Assert.Equal(CostOfA + CostOfB + CostOfAgg, usage["cost"]!.GetValue<decimal>());
        Assert.True(usage["cost_complete"]!.GetValue<bool>());
        Assert.NotNull(sdkUsage);
        Assert.Equal(1600, sdkUsage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(2, sdkUsage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task A_response_of_the_responses_api_carries_the_same_cost_and_token_details()
    {
        using var answer = await Gateway.Http.PostAsJsonAsync("/v1/responses", new { model = "mix", input = "Hi" });
        var usage = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["usage"]!;
        ResponseResult sdk = await Gateway.ResponsesClient().CreateResponseAsync(new CreateResponseOptions("mix", [ResponseItem.CreateUserMessageItem("Hi")]));

        Assert.Equal(CostOfA + CostOfB + CostOfAgg, usage["cost"]!.GetValue<decimal>());
        Assert.True(usage["cost_complete"]!.GetValue<bool>());
        Assert.Equal(CostOfAgg, usage["moa"]!["aggregator"]!["cost"]!.GetValue<decimal>());
        Assert.Equal(1600, sdk.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(2, sdk.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task The_completed_event_of_a_streamed_response_carries_the_cost()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/responses", new { model = "mix", input = "Hi", stream = true });
        var transcript = await SseTranscript.ReadAsync(response);

        var completed = Assert.Single(transcript.JsonEvents, e => e["type"]!.GetValue<string>() == "response.completed");
        Assert.Equal(CostOfA + CostOfB + CostOfAgg, completed["response"]!["usage"]!["cost"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_call_of_an_unpriced_model_has_no_cost_and_the_total_says_it_is_partial()
    {
        var usage = await UsageAsync("partial");

        Assert.Equal(CostOfA + CostOfAgg, usage["cost"]!.GetValue<decimal>());
        Assert.False(usage["cost_complete"]!.GetValue<bool>());
        var agents = usage["moa"]!["layers"]![0]!["agents"]!.AsArray();
        var unpriced = Assert.Single(agents, agent => agent!["provider"]!.GetValue<string>() == "other")!;
        Assert.Null(unpriced["cost"]);
        Assert.Equal(CostOfA, Agent(agents, "a")["cost"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task An_attempt_that_reported_usage_before_it_failed_is_counted_beside_its_retry()
    {
        // a's first attempt streams its whole answer and usage, then its connection breaks before [DONE]: retried, and billed twice.
        Upstream.Reply("a", new FakeReply
        {
            Text = "one two three four five", PromptTokens = 1000, CachedPromptTokens = 600, BreakAfterUsage = true, FailTimes = 1,
        });

        var usage = await UsageAsync("mix");

        var a = Agent(usage["moa"]!["layers"]![0]!["agents"]!.AsArray(), "a");
        Assert.Equal(2, a["attempts"]!.GetValue<int>());
        Assert.Equal(2 * 1000, a["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(2 * CostOfA, a["cost"]!.GetValue<decimal>());
        Assert.Equal((2 * CostOfA) + CostOfB + CostOfAgg, usage["cost"]!.GetValue<decimal>());
        Assert.True(usage["cost_complete"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_attempt_cut_before_its_usage_came_makes_the_cost_partial()
    {
        // a's first attempt breaks after its first token, before any usage: what the provider billed for it is unknown.
        Upstream.Reply("a", new FakeReply { Text = "one two three four five", PromptTokens = 1000, CachedPromptTokens = 600, BreakAfterFirstToken = true, FailTimes = 1 });

        var usage = await UsageAsync("mix");

        var a = Agent(usage["moa"]!["layers"]![0]!["agents"]!.AsArray(), "a");
        Assert.Equal(2, a["attempts"]!.GetValue<int>());
        Assert.Equal(CostOfA, a["cost"]!.GetValue<decimal>());
        Assert.False(a["cost_complete"]!.GetValue<bool>());
        Assert.False(usage["cost_complete"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_cost_metric_counts_each_priced_call_by_virtual_model_provider_and_model()
    {
        await UsageAsync(_meteredModel);
        await Eventually.True(() => Mine().Count == 3);

        var costs = Mine().ToDictionary(cost => (string)cost.Tags["gen_ai.request.model"]!, cost => cost.Usd);
        Assert.Equal((double)CostOfA, costs["a"], 12);
        Assert.Equal((double)CostOfB, costs["b"], 12);
        Assert.Equal((double)CostOfAgg, costs["agg"], 12);
        Assert.All(Mine(), cost => Assert.Equal("fake", cost.Tags["gen_ai.provider.name"]));
        Assert.All(Mine(), cost => Assert.False(cost.Tags.ContainsKey("moa.client_key")));
    }

    private List<(double Usd, Dictionary<string, object?> Tags)> Mine() =>
        [.. _costs.Where(cost => (string?)cost.Tags["moa.model"] == _meteredModel)];

    private static JsonNode Agent(JsonArray agents, string model) => Assert.Single(agents, agent => agent!["model"]!.GetValue<string>() == model)!;

    private async Task<JsonNode> UsageAsync(string model)
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content = "Hi" } },
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["usage"]!;
    }
}
