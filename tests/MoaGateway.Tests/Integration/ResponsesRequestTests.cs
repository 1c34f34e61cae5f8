using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>What <c>POST /v1/responses</c> accepts and refuses, and what the mixture's layers receive from it.</summary>
public sealed class ResponsesRequestTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg");

    private async Task<(HttpStatusCode Status, JsonNode Body)> PostAsync(string json)
    {
        using var response = await Gateway.Http.PostAsync("/v1/responses", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    public static TheoryData<string, string> StatefulFields => new()
    {
        { "previous_response_id", """ "resp_123" """ },
        { "conversation", """ "conv_123" """ },
        { "prompt", """{"id": "pmpt_123"}""" },
        { "background", "true" },
    };

    [Theory]
    [MemberData(nameof(StatefulFields))]
    public async Task Fields_that_need_server_state_are_refused_saying_the_gateway_is_stateless(string field, string value)
    {
        var (status, body) = await PostAsync($$"""{"model": "duo", "input": "Hi", "{{field}}": {{value}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body["error"]!;
        Assert.Equal(field, error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains("stateless", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    public static TheoryData<string, string> BadRequests => new()
    {
        { """{"model": "duo"}""", "input" },
        { """{"model": "duo", "input": ""}""", "input" },
        { """{"model": "duo", "input": []}""", "input" },
        { """{"model": "duo", "input": "Hi", "instructions": 5}""", "instructions" },
        { """{"model": "duo", "input": [{"role": "tool", "content": "x"}]}""", "input[0].role" },
        { """{"model": "duo", "input": [{"type": "computer_call", "call_id": "c"}]}""", "input[0].type" },
        { """{"model": "duo", "input": [{"type": "item_reference", "id": "msg_1"}]}""", "input[0].type" },
        { """{"model": "duo", "input": [{"content": "no role, no type"}]}""", "input[0].type" },
        {
            """
            {"model": "duo", "input": [
              {"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}, {"role": "user", "content": "three"},
              {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "four"}, {"type": "input_file", "file_id": "f"}]}]}
            """,
            "input[3].content[1].type"
        },
        { """{"model": "duo", "input": [{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]}""", "input[0].content[0].type" },
        { """{"model": "duo", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}""", "input[0].content[0].file_id" },
        { """{"model": "duo", "input": [{"role": "user", "content": [{"type": "input_text"}]}]}""", "input[0].content[0].text" },
        { """{"model": "duo", "input": [{"role": "user", "content": ""}]}""", "input[0].content" },
        { """{"model": "duo", "input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}""", "input[0].name" },
        { """{"model": "duo", "input": [{"type": "function_call_output", "output": "18 C"}]}""", "input[0].call_id" },
        { """{"model": "duo", "input": [{"type": "function_call_output", "call_id": "c", "output": 18}]}""", "input[0].output" },
        { """{"model": "duo", "input": [{"role": "user", "content": "Weather?"}, {"type": "function_call_output", "call_id": "c", "output": "18 C"}]}""", "input[1].call_id" },
        { """{"model": "duo", "input": "Hi", "tools": [{"type": "function"}]}""", "tools[0].name" },
        { """{"model": "duo", "input": "Hi", "tools": [{"type": "function", "name": "f", "parameters": "none"}]}""", "tools[0].parameters" },
        { """{"model": "duo", "input": "Hi", "tool_choice": {"type": "web_search_preview"}}""", "tool_choice" },
        { """{"model": "duo", "input": "Hi", "text": {"format": {"type": "xml"}}}""", "text.format.type" },
        { """{"model": "duo", "input": "Hi", "text": {"format": {"type": "json_schema", "name": "w"}}}""", "text.format.schema" },
        { """{"model": "duo", "input": "Hi", "temperature": 3}""", "temperature" },
        { """{"model": "duo", "input": "Hi", "top_p": -1}""", "top_p" },
        { """{"model": "duo", "input": "Hi", "max_output_tokens": 0}""", "max_output_tokens" },
        { """{"model": "duo", "input": "Hi", "metadata": {"run": 1}}""", "metadata" },
        { """{"model": "duo", "input": "Hi", "include": "reasoning.encrypted_content"}""", "include" },
        { """{"model": "duo", "input": "Hi", "stream": "yes"}""", "stream" },
        { """{"input": "Hi"}""", "model" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Invalid_requests_get_a_400_naming_the_field_before_any_upstream_call(string json, string param)
    {
        var (status, body) = await PostAsync(json);

        Assert.True(HttpStatusCode.BadRequest == status, body.ToJsonString());
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Built_in_tools_are_refused_naming_their_type_since_no_provider_runs_them()
    {
        using var response = await Gateway.Http.PostAsync("/v1/responses", new StringContent("""
            {"model": "duo", "input": "Hi", "tools": [
              {"type": "function", "name": "shell", "parameters": {"type": "object"}},
              {"type": "web_search", "external_web_access": false}]}
            """, Encoding.UTF8, "application/json"));
        var (status, raw) = (response.StatusCode, await response.Content.ReadAsStringAsync());
        var body = JsonNode.Parse(raw)!;

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("tools[1].type", body["error"]!["param"]!.GetValue<string>());
        Assert.Equal("unsupported_tool_type", body["error"]!["code"]!.GetValue<string>());
        // Readable as it is: CLIs such as Codex print the body raw.
        Assert.Contains("is a 'web_search' tool", raw, StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task The_input_becomes_one_chat_conversation_that_every_layer_gets()
    {
        var (status, body) = await PostAsync("""
            {"model": "duo", "instructions": "Answer briefly.", "input": [
              {"type": "message", "role": "developer", "content": "You are a weather bot."},
              {"role": "user", "content": [{"type": "input_text", "text": "Weather here?"}, {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}]},
              {"type": "reasoning", "id": "rs_1", "summary": []},
              {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
              {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "locate", "arguments": "{}"},
              {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "weather", "arguments": "{\"here\":true}"},
              {"type": "function_call_output", "call_id": "call_1", "output": "Paris"},
              {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "18 C"}]},
              {"role": "user", "content": "Thanks!"}]}
            """);

        Assert.True(HttpStatusCode.OK == status, body.ToJsonString());
        // As the SDK sends them upstream: it writes a single text part of an assistant or tool message as plain content.
        var layer1 = Upstream.RequestsFor("p1").Single().Messages;
        var expected = JsonNode.Parse("""
            [
              {"role": "system", "content": "Answer briefly."},
              {"role": "system", "content": "You are a weather bot."},
              {"role": "user", "content": [{"type": "text", "text": "Weather here?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]},
              {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "locate", "arguments": "{}"}},
                {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"here\":true}"}}]},
              {"role": "tool", "tool_call_id": "call_1", "content": "Paris"},
              {"role": "tool", "tool_call_id": "call_2", "content": "18 C"},
              {"role": "user", "content": "Thanks!"}
            ]
            """);
        Assert.True(JsonNode.DeepEquals(expected, layer1), layer1.ToJsonString());
        Assert.True(JsonNode.DeepEquals(layer1, Upstream.RequestsFor("p2").Single().Messages));

        // The aggregator: the same conversation, the proposers' answers appended to its first system message.
        var aggregator = Upstream.RequestsFor("agg").Single().Messages;
        Assert.Equal(layer1.Count, aggregator.Count);
        Assert.StartsWith("Answer briefly.\n\n", aggregator[0]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("answer from p1", aggregator[0]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(layer1[^1], aggregator[^1]));
    }

    [Fact]
    public async Task Parameters_go_to_the_aggregator_only_and_responses_only_fields_go_nowhere()
    {
        var (status, body) = await PostAsync("""
            {"model": "duo", "input": "Hi", "temperature": 0.3, "top_p": 0.9, "max_output_tokens": 64, "user": "u-1",
             "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": false}],
             "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": false, "store": false,
             "include": ["reasoning.encrypted_content", "no.such.include"], "reasoning": {"summary": "auto"},
             "prompt_cache_key": "k", "client_metadata": {"session": "s"}, "metadata": {"run": "r"}, "truncation": "auto"}
            """);

        Assert.True(HttpStatusCode.OK == status, body.ToJsonString());
        var aggregator = Upstream.RequestsFor("agg").Single().Json;
        Assert.Equal(0.3, aggregator["temperature"]!.GetValue<double>(), 6);
        Assert.Equal(0.9, aggregator["top_p"]!.GetValue<double>(), 6);
        Assert.Equal(64, aggregator["max_tokens"]!.GetValue<int>());
        Assert.Equal("u-1", aggregator["user"]!.GetValue<string>());
        Assert.False(aggregator["parallel_tool_calls"]!.GetValue<bool>());
        Assert.Equal("f", aggregator["tool_choice"]!["function"]!["name"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}, "strict": false}}"""),
            aggregator["tools"]![0]));
        foreach (var field in new[] { "include", "reasoning", "prompt_cache_key", "client_metadata", "metadata", "truncation", "store", "input", "instructions", "max_output_tokens" })
        {
            Assert.False(aggregator.ContainsKey(field), $"the aggregator got '{field}'");
        }

        var proposer = Upstream.RequestsFor("p1").Single().Json;
        foreach (var field in new[] { "tools", "tool_choice", "top_p", "user", "parallel_tool_calls" })
        {
            Assert.False(proposer.ContainsKey(field), $"a proposer got '{field}'");
        }
    }

    [Fact]
    public async Task The_response_echoes_the_requests_settings_as_openai_does()
    {
        var (_, body) = await PostAsync("""
            {"model": "duo", "input": "Hi", "instructions": "Be brief.", "temperature": 0.5, "max_output_tokens": 100,
             "metadata": {"run": "r1"}, "tool_choice": "none", "tools": [{"type": "function", "name": "f"}],
             "text": {"format": {"type": "json_object"}}, "store": true}
            """);

        Assert.Equal("response", body["object"]!.GetValue<string>());
        Assert.Equal("Be brief.", body["instructions"]!.GetValue<string>());
        Assert.Equal(0.5, body["temperature"]!.GetValue<double>(), 6);
        Assert.Equal(100, body["max_output_tokens"]!.GetValue<int>());
        Assert.Equal("r1", body["metadata"]!["run"]!.GetValue<string>());
        Assert.Equal("none", body["tool_choice"]!.GetValue<string>());
        Assert.Equal("f", body["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("json_object", body["text"]!["format"]!["type"]!.GetValue<string>());
        Assert.False(body["store"]!.GetValue<bool>());
        Assert.Null(body["previous_response_id"]);
        Assert.Equal(FakeUpstream.DefaultText("agg"), body["output_text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_non_streamed_answer_of_text_and_tool_calls_is_a_message_then_one_function_call_item_per_call()
    {
        Upstream.Reply("agg", new FakeReply
        {
            EventStream = ChatChunks.Stream(
                "tool_calls",
                ChatChunks.Content("Checking."),
                ChatChunks.ToolCallStart(0, "call_a", "f", "{\"x\":"),
                ChatChunks.ToolCallArguments(0, "1}"),
                ChatChunks.ToolCallStart(1, "call_b", "g", "{}")),
        });

        var (_, body) = await PostAsync("""{"model": "duo", "input": "Hi", "tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "g"}]}""");

        var output = body["output"]!.AsArray();
        Assert.Equal(["message", "function_call", "function_call"], output.Select(item => item!["type"]!.GetValue<string>()));
        Assert.Equal("Checking.", output[0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(("call_a", "f", "{\"x\":1}"), (output[1]!["call_id"]!.GetValue<string>(), output[1]!["name"]!.GetValue<string>(), output[1]!["arguments"]!.GetValue<string>()));
        Assert.Equal(("call_b", "g", "{}"), (output[2]!["call_id"]!.GetValue<string>(), output[2]!["name"]!.GetValue<string>(), output[2]!["arguments"]!.GetValue<string>()));
        Assert.All(output, item => Assert.Equal("completed", item!["status"]!.GetValue<string>()));
        Assert.Equal("completed", body["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_non_streamed_answer_cut_at_the_token_limit_is_incomplete_with_the_reason()
    {
        Upstream.Reply("agg", new FakeReply { EventStream = ChatChunks.Stream("length", ChatChunks.Content("Half an")) });

        var (status, body) = await PostAsync("""{"model": "duo", "input": "Hi", "max_output_tokens": 2}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("incomplete", body["status"]!.GetValue<string>());
        Assert.Equal("max_output_tokens", body["incomplete_details"]!["reason"]!.GetValue<string>());
        Assert.Equal("Half an", body["output_text"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_in_openais_envelope()
    {
        var (status, body) = await PostAsync("""{"model": "no-such-model", "input": "Hi"}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", body["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Provider_model_passes_through_unchecked_to_the_providers_own_responses_endpoint()
    {
        const string body = """{"model": "fake/gpt-test", "input": "Hi", "tools": [{"type": "web_search"}], "previous_response_id": "resp_1"}""";

        using var response = await Gateway.Http.PostAsync("/v1/responses", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var forwarded = Assert.Single(Upstream.Requests);
        Assert.Equal("/v1/responses", forwarded.Path);
        Assert.Equal(body.Replace("fake/gpt-test", "gpt-test", StringComparison.Ordinal), forwarded.Body);
        Assert.Contains(FakeUpstream.DefaultText("gpt-test"), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
