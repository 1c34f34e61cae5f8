using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>Every error under /v1 is OpenAI's envelope with the right status; bad input never becomes a 500.</summary>
public sealed class ErrorTests : GatewayTest
{
    private const string UpstreamKey = "sk-upstream-secret-0123456789";

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings()
            .Provider("fake", upstream, apiKey: UpstreamKey)
            .Model("duo", [["p1", "p2"]], "agg")
            .Model("slow", [["sleepy"]], "agg")
            .Set("MoaGateway:Providers:fake:TimeoutSeconds", "0.5")
            .Set("MoaGateway:Limits:MaxRequestBodyBytes", "4096");
    }

    public static TheoryData<string, string, int, string?, string?> InvalidRequests => new()
    {
        { "truncated JSON", """{"model":"duo","messages":[""", 400, null, "invalid_json" },
        { "not JSON at all", "hello", 400, null, "invalid_json" },
        { "duplicate keys", """{"model":"duo","model":"x","messages":[{"role":"user","content":"hi"}]}""", 400, null, "invalid_json" },
        { "array body", """[{"model":"duo"}]""", 400, null, null },
        { "missing model", """{"messages":[{"role":"user","content":"hi"}]}""", 400, "model", null },
        { "numeric model", """{"model":7,"messages":[{"role":"user","content":"hi"}]}""", 400, "model", null },
        { "missing messages", """{"model":"duo"}""", 400, "messages", null },
        { "messages not an array", """{"model":"duo","messages":"hi"}""", 400, "messages", null },
        { "empty messages", """{"model":"duo","messages":[]}""", 400, "messages", "empty_array" },
        { "message not an object", """{"model":"duo","messages":["hi"]}""", 400, "messages[0]", null },
        { "missing role", """{"model":"duo","messages":[{"content":"hi"}]}""", 400, "messages[0].role", null },
        { "unknown role", """{"model":"duo","messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role", "invalid_value" },
        { "numeric content", """{"model":"duo","messages":[{"role":"user","content":42}]}""", 400, "messages[0].content", null },
        { "empty content", """{"model":"duo","messages":[{"role":"user","content":""}]}""", 400, "messages[0].content", "empty_content" },
        { "missing user content", """{"model":"duo","messages":[{"role":"user"}]}""", 400, "messages[0].content", null },
        { "bad part type", """{"model":"duo","messages":[{"role":"user","content":[{"type":"video","video":{}}]}]}""", 400, "messages[0].content[0].type", "invalid_value" },
        { "image part in system message", """{"model":"duo","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content[0].type", "invalid_value" },
        { "tool message without id", """{"model":"duo","messages":[{"role":"tool","content":"42"}]}""", 400, "messages[0].tool_call_id", null },
        { "assistant with nothing", """{"model":"duo","messages":[{"role":"assistant"}]}""", 400, "messages[0].content", null },
        { "n of two", """{"model":"duo","n":2,"messages":[{"role":"user","content":"hi"}]}""", 400, "n", "unsupported_value" },
        { "temperature as text", """{"model":"duo","temperature":"hot","messages":[{"role":"user","content":"hi"}]}""", 400, "temperature", null },
        { "temperature out of range", """{"model":"duo","temperature":7,"messages":[{"role":"user","content":"hi"}]}""", 400, "temperature", null },
        { "huge max_tokens", """{"model":"duo","max_tokens":1e300,"messages":[{"role":"user","content":"hi"}]}""", 400, "max_tokens", null },
        { "stream as text", """{"model":"duo","stream":"yes","messages":[{"role":"user","content":"hi"}]}""", 400, "stream", null },
        { "stream_options without stream", """{"model":"duo","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""", 400, "stream_options", null },
        { "five stop sequences", """{"model":"duo","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]}""", 400, "stop", null },
        { "tools not an array", """{"model":"duo","tools":{},"messages":[{"role":"user","content":"hi"}]}""", 400, "tools", null },
        { "unpaired high surrogate in content", """{"model":"duo","messages":[{"role":"user","content":"a\ud800b"}]}""", 400, "messages[0].content", "invalid_unicode" },
        { "unpaired low surrogate in the model", """{"model":"duo\udc00","messages":[{"role":"user","content":"hi"}]}""", 400, "model", "invalid_unicode" },
        { "two high surrogates in a role", """{"model":"duo","messages":[{"role":"user\ud800\ud800","content":"hi"}]}""", 400, "messages[0].role", "invalid_unicode" },
        { "unpaired surrogate in a text part", """{"model":"duo","messages":[{"role":"user","content":[{"type":"text","text":"\ud800"}]}]}""", 400, "messages[0].content[0].text", "invalid_unicode" },
        { "unpaired surrogate in a tool name", """{"model":"duo","tools":[{"type":"function","function":{"name":"f\udc00"}}],"messages":[{"role":"user","content":"hi"}]}""", 400, "tools[0].function.name", "invalid_unicode" },
        { "unpaired surrogate in a property name", """{"model":"duo","metadata":{"k\ud800":"v"},"messages":[{"role":"user","content":"hi"}]}""", 400, "metadata.k\\ud800", "invalid_unicode" },
        { "unpaired surrogate after an escaped backslash", """{"model":"duo","messages":[{"role":"user","content":"\\\ud800"}]}""", 400, "messages[0].content", "invalid_unicode" },
        { "unpaired surrogate in pass-through content", """{"model":"fake/solo","messages":[{"role":"user","content":"\udc00\ud800"}]}""", 400, "messages[0].content", "invalid_unicode" },
        { "unpaired surrogate in a pass-through model", """{"model":"fake/solo\ud800","messages":[{"role":"user","content":"hi"}]}""", 400, "model", "invalid_unicode" },
        { "tool call without a function name", """{"model":"duo","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{}}]}]}""", 400, "messages[1].tool_calls[0].function.name", null },
        { "tool call without arguments", """{"model":"duo","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f"}}]}]}""", 400, "messages[0].tool_calls[0].function.arguments", null },
        { "tool call with object arguments", """{"model":"duo","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}]}""", 400, "messages[0].tool_calls[0].function.arguments", null },
        { "tool call without an id", """{"model":"duo","messages":[{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}""", 400, "messages[0].tool_calls[0].id", null },
        { "tool call of another type", """{"model":"duo","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"retrieval","function":{"name":"f","arguments":"{}"}}]}]}""", 400, "messages[0].tool_calls[0].type", "invalid_value" },
        { "tool call that is no object", """{"model":"duo","messages":[{"role":"assistant","content":null,"tool_calls":[5]}]}""", 400, "messages[0].tool_calls[0]", null },
        { "empty function_call", """{"model":"duo","messages":[{"role":"assistant","content":null,"function_call":{}}]}""", 400, "messages[0].function_call.name", null },
        { "function_call without arguments", """{"model":"duo","messages":[{"role":"assistant","content":null,"function_call":{"name":"f"}}]}""", 400, "messages[0].function_call.arguments", null },
        { "function_call that is a string", """{"model":"duo","messages":[{"role":"assistant","content":null,"function_call":"f"}]}""", 400, "messages[0].function_call", null },
        { "pass-through tool call without a function name", """{"model":"fake/solo","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{}}]}]}""", 400, "messages[0].tool_calls[0].function.name", null },
        { "empty audio", """{"model":"duo","audio":{},"messages":[{"role":"user","content":"hi"}]}""", 400, "audio.voice", null },
        { "audio without format", """{"model":"duo","audio":{"voice":"alloy"},"messages":[{"role":"user","content":"hi"}]}""", 400, "audio.format", null },
        { "audio as text", """{"model":"duo","audio":"alloy","messages":[{"role":"user","content":"hi"}]}""", 400, "audio", null },
        { "unknown model", """{"model":"gpt-imaginary","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "model_not_found" },
        { "unknown provider prefix", """{"model":"nobody/some-model","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "model_not_found" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task Invalid_request_gets_an_openai_error_with_status_and_param(string why, string body, int status, string? param, string? code)
    {
        using var response = await PostRawAsync(body);

        var error = await AssertEnvelopeAsync(response, status);
        Assert.True(param == error["param"]?.GetValue<string>(), $"{why}: param was {error["param"]}");
        if (code is not null)
        {
            Assert.Equal(code, error["code"]?.GetValue<string>());
        }

        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("duo", "p1")]
    [InlineData("fake/solo", "solo")]
    public async Task Escaped_surrogate_pairs_and_escaped_backslashes_are_no_error_and_reach_the_upstream_intact(string model, string upstreamModel)
    {
        using var response = await PostRawAsync($$"""{"model":"{{model}}","messages":[{"role":"user","content":"smile \ud83d\ude00 \\ud800"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(Upstream.RequestsFor(upstreamModel));
        Assert.Equal("smile \U0001F600 \\ud800", received.Messages[0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deeply_nested_json_is_rejected_as_invalid_json()
    {
        var nested = new string('[', 200) + new string(']', 200);
        using var response = await PostRawAsync($$"""{"model":"duo","messages":[{"role":"user","content":"hi"}],"metadata":{{nested}}}""");

        await AssertEnvelopeAsync(response, 400);
    }

    [Fact]
    public async Task Invalid_utf8_is_rejected_as_invalid_json()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"duo","messages":[{"role":"user","content":"hi XX"}]}""");
        var index = Array.IndexOf(bytes, (byte)'X');
        bytes[index] = 0xC3;
        bytes[index + 1] = 0x28;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        await AssertEnvelopeAsync(response, 400);
    }

    [Fact]
    public async Task Oversized_body_gets_413()
    {
        var big = new string('x', 8000);
        using var response = await PostRawAsync($$"""{"model":"duo","messages":[{"role":"user","content":"{{big}}"}]}""");

        var error = await AssertEnvelopeAsync(response, 413);
        Assert.Equal("request_too_large", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Oversized_body_without_content_length_gets_413()
    {
        var big = Encoding.UTF8.GetBytes($$"""{"model":"duo","messages":[{"role":"user","content":"{{new string('x', 8000)}}"}]}""");
        using var content = new StreamContent(new MemoryStream(big));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await Gateway.Http.SendAsync(request);

        await AssertEnvelopeAsync(response, 413);
    }

    [Fact]
    public async Task Every_proposer_failing_gives_502_naming_the_agents_without_theUpstream_key()
    {
        Upstream.Reply("p1", new FakeReply { Status = 500, ErrorMessage = $"Incorrect API key provided: {UpstreamKey}" });
        Upstream.Reply("p2", new FakeReply { Status = 429 });

        using var response = await PostRawAsync("""{"model":"duo","messages":[{"role":"user","content":"hi"}]}""");

        var error = await AssertEnvelopeAsync(response, 502);
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("fake/p1", message, StringComparison.Ordinal);
        Assert.Contains("fake/p2", message, StringComparison.Ordinal);
        Assert.Contains("HTTP 429", message, StringComparison.Ordinal);
        Assert.Contains("[redacted]", message, StringComparison.Ordinal);
        Assert.DoesNotContain(UpstreamKey, message, StringComparison.Ordinal);
        Assert.Equal("upstream_error", error["code"]!.GetValue<string>());
        Assert.Empty(Upstream.RequestsFor("agg"));
    }

    [Fact]
    public async Task A_proposer_failing_alone_is_left_out_and_reported_while_the_others_answer()
    {
        Upstream.Reply("p1", new FakeReply { Status = 500 });

        using var response = await PostRawAsync("""{"model":"duo","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var agents = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!["moa"]!["layers"]![0]!["agents"]!.AsArray();
        Assert.Equal("failed", agents[0]!["status"]!.GetValue<string>());
        Assert.Contains("HTTP 500", agents[0]!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("answered", agents[1]!["status"]!.GetValue<string>());
        Assert.EndsWith("Responses from models:\n1. answer from p2", Assert.Single(Upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_that_never_answers_is_cut_at_its_timeout_with_504()
    {
        Upstream.Reply("sleepy", new FakeReply { Delay = TimeSpan.FromSeconds(30) });

        using var response = await PostRawAsync("""{"model":"slow","messages":[{"role":"user","content":"hi"}]}""");

        var error = await AssertEnvelopeAsync(response, 504);
        Assert.Equal("upstream_timeout", error["code"]!.GetValue<string>());
        Assert.Contains("fake/sleepy did not answer within 0.5 s", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_route_under_v1_gets_an_openai_404()
    {
        using var response = await Gateway.Http.GetAsync("/v1/embeddingz");

        var error = await AssertEnvelopeAsync(response, 404);
        Assert.Equal("unknown_url", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Wrong_method_gets_an_openai_405()
    {
        using var response = await Gateway.Http.GetAsync("/v1/chat/completions");

        await AssertEnvelopeAsync(response, 405);
    }

    [Fact]
    public async Task Gateway_keeps_serving_after_a_burst_of_bad_requests()
    {
        foreach (var row in InvalidRequests)
        {
            using var bad = await PostRawAsync((string)row[1]);
        }

        using var good = await PostRawAsync("""{"model":"duo","messages":[{"role":"user","content":"still there?"}]}""");

        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    private async Task<HttpResponseMessage> PostRawAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await Gateway.Http.PostAsync("/v1/chat/completions", content);
    }

    private static async Task<JsonObject> AssertEnvelopeAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.False(string.IsNullOrWhiteSpace(error["type"]!.GetValue<string>()));
        return error;
    }
}
