using System.Text.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Responses;

namespace MoaGateway.Tests.Integration;

/// <summary><c>POST /v1/responses</c> through the official .NET SDK's Responses client, every upstream a recording fake.</summary>
public sealed class ResponsesSdkTests : GatewayTest
{
    private static readonly BinaryData WeatherParameters = BinaryData.FromString(
        """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""");

    /// <summary>Keep-alive comments every 50 ms, so that streams carry some while their proposers answer: the SDK must read past them.</summary>
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Set("MoaGateway:KeepAliveSeconds", "0.05");

    [Fact]
    public async Task Non_streamed_response_carries_the_aggregators_text_and_the_usage_of_every_call()
    {
        Upstream.Reply("agg", new FakeReply { Text = "The sky scatters blue light." });

        ResponseResult response = await Gateway.ResponsesClient().CreateResponseAsync(
            new CreateResponseOptions("duo", [ResponseItem.CreateUserMessageItem("Why is the sky blue?")]) { StoredOutputEnabled = true });

        Assert.Equal("The sky scatters blue light.", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal("duo", response.Model);
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
        // Two proposers and the aggregator, 11 prompt tokens each; "answer from pN" is 3 tokens, the aggregator's answer 5.
        Assert.Equal(3 * 11, response.Usage.InputTokenCount);
        Assert.Equal(3 + 3 + 5, response.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.Equal(0, response.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(3, Upstream.Requests.Count);
    }

    [Fact]
    public async Task Non_streamed_response_says_store_false_and_has_the_moa_breakdown_in_its_usage()
    {
        var raw = await Gateway.ResponsesClient().CreateResponseAsync(
            System.ClientModel.BinaryContent.Create(BinaryData.FromString("""{"model":"duo","input":"Hi","store":true}""")), new System.ClientModel.Primitives.RequestOptions());
        var body = JsonNode.Parse(raw.GetRawResponse().Content.ToString())!;

        Assert.False(body["store"]!.GetValue<bool>());
        Assert.Equal(3, body["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
        Assert.Equal("agg", body["usage"]!["moa"]!["aggregator"]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Streamed_text_reaches_the_client_as_the_aggregator_sends_it_and_ends_completed_with_usage()
    {
        var release = new TaskCompletionSource();
        Upstream.Reply("agg", new FakeReply { Text = "first second third", HoldAfterFirstToken = release.Task });
        Upstream.Reply("p1", new FakeReply { Delay = TimeSpan.FromMilliseconds(300) });

        await using var stream = await Gateway.ResponsesClient().CreateResponseStreamingAsync(
            new CreateResponseOptions("duo", [ResponseItem.CreateUserMessageItem("Stream please")]) { StreamingEnabled = true });
        await using var updates = ((IAsyncEnumerable<StreamingResponseUpdate>)stream).GetAsyncEnumerator();
        string? first = null;
        while (first is null && await updates.MoveNextAsync())
        {
            first = (updates.Current as StreamingResponseOutputTextDeltaUpdate)?.Delta;
        }

        // The aggregator still holds its second token: the first reached the client on its own.
        Assert.Equal("first", first);
        Assert.False(release.Task.IsCompleted);

        release.SetResult();
        var rest = "";
        ResponseResult? completed = null;
        while (await updates.MoveNextAsync())
        {
            rest += (updates.Current as StreamingResponseOutputTextDeltaUpdate)?.Delta;
            completed ??= (updates.Current as StreamingResponseCompletedUpdate)?.Response;
        }

        Assert.Equal(" second third", rest);
        Assert.NotNull(completed);
        Assert.Equal("first second third", completed.GetOutputText());
        Assert.Equal(3 * 11, completed.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Function_call_round_trip_gives_the_aggregator_the_call_and_its_output_as_chat_tool_messages()
    {
        var aggregatorCalls = 0;
        Upstream.ReplyWith(model => model != "agg"
            ? new FakeReply()
            : Interlocked.Increment(ref aggregatorCalls) == 1
                ? new FakeReply { EventStream = ChatChunks.Stream("tool_calls", ChatChunks.ToolCallStart(0, "call_paris", "get_weather", "{\"city\":"), ChatChunks.ToolCallArguments(0, "\"Paris\"}")) }
                : new FakeReply { Text = "It is 18 degrees in Paris." });
        var client = Gateway.ResponsesClient();
        var question = ResponseItem.CreateUserMessageItem("What is the weather in Paris?");
        var options = new CreateResponseOptions("duo", [question]);
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", WeatherParameters, strictModeEnabled: false, "The weather in a city."));

        ResponseResult first = await client.CreateResponseAsync(options);
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        Assert.Equal(("call_paris", "get_weather", "{\"city\":\"Paris\"}"), (call.CallId, call.FunctionName, call.FunctionArguments.ToString()));

        var followUp = new CreateResponseOptions("duo", [question, call, ResponseItem.CreateFunctionCallOutputItem(call.CallId, "18 C, sunny")]);
        followUp.Tools.Add(options.Tools[0]);
        ResponseResult second = await client.CreateResponseAsync(followUp);

        Assert.Equal("It is 18 degrees in Paris.", second.GetOutputText());
        var aggregator = Upstream.RequestsFor("agg")[1].Json;
        var messages = aggregator["messages"]!.AsArray();
        var assistant = messages.Single(m => m!["role"]!.GetValue<string>() == "assistant")!;
        var toolCall = Assert.Single(assistant["tool_calls"]!.AsArray())!;
        Assert.Equal("call_paris", toolCall["id"]!.GetValue<string>());
        Assert.Equal("get_weather", toolCall["function"]!["name"]!.GetValue<string>());
        Assert.Equal("{\"city\":\"Paris\"}", toolCall["function"]!["arguments"]!.GetValue<string>());
        var tool = messages.Single(m => m!["role"]!.GetValue<string>() == "tool")!;
        Assert.Equal("call_paris", tool["tool_call_id"]!.GetValue<string>());
        Assert.Equal("18 C, sunny", tool["content"]!.GetValue<string>());
        Assert.Equal(messages.IndexOf(assistant) + 1, messages.IndexOf(tool));
        Assert.Equal("get_weather", aggregator["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        // Proposers answer in plain text: the conversation, but no tools.
        Assert.All(Upstream.RequestsFor("p1"), proposer => Assert.Null(proposer.Json["tools"]));
    }

    [Fact]
    public async Task Json_schema_format_reaches_the_aggregator_as_its_response_format_and_the_answer_parses()
    {
        Upstream.Reply("agg", new FakeReply { Text = """{"city":"Paris","celsius":18}""" });
        var schema = BinaryData.FromString(
            """{"type":"object","properties":{"city":{"type":"string"},"celsius":{"type":"number"}},"required":["city","celsius"],"additionalProperties":false}""");
        var options = new CreateResponseOptions("duo", [ResponseItem.CreateUserMessageItem("Weather in Paris as JSON.")])
        {
            TextOptions = new ResponseTextOptions { TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("weather", schema, jsonSchemaIsStrict: true) },
        };

        ResponseResult response = await Gateway.ResponsesClient().CreateResponseAsync(options);

        using var answer = JsonDocument.Parse(response.GetOutputText());
        Assert.Equal("Paris", answer.RootElement.GetProperty("city").GetString());
        var format = Upstream.RequestsFor("agg").Single().Json["response_format"]!;
        Assert.Equal("json_schema", format["type"]!.GetValue<string>());
        Assert.Equal("weather", format["json_schema"]!["name"]!.GetValue<string>());
        Assert.True(format["json_schema"]!["strict"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(schema.ToString()), format["json_schema"]!["schema"]));
        Assert.All(Upstream.RequestsFor("p1"), proposer => Assert.Null(proposer.Json["response_format"]));
    }

    [Fact]
    public async Task Sdk_sees_a_stream_cut_off_mid_answer_as_an_exception_not_a_short_answer()
    {
        Upstream.Reply("agg", new FakeReply { Text = "partial answer here", BreakAfterFirstToken = true });

        var received = "";
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in await Gateway.ResponsesClient().CreateResponseStreamingAsync(
                new CreateResponseOptions("duo", [ResponseItem.CreateUserMessageItem("Hi")]) { StreamingEnabled = true }))
            {
                received += (update as StreamingResponseOutputTextDeltaUpdate)?.Delta;
                Assert.IsNotType<StreamingResponseCompletedUpdate>(update);
            }
        });

        Assert.NotNull(failure);
        Assert.True("partial" == received, failure.ToString());
    }
}
