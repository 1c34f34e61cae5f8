using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MoaGateway.Tests.Integration;

/// <summary>A generated corpus of malformed and hostile requests: each gets an OpenAI-shaped 4xx, none reaches an upstream, and the gateway keeps serving.</summary>
public sealed class HostileInputTests(ITestOutputHelper output) : GatewayTest
{
    private const string Valid = """{"model":"duo","messages":[{"role":"user","content":"hello there"}],"temperature":0.5,"stream":false}""";

    private const string ValidResponses = """
        {"model":"duo","instructions":"be brief","temperature":0.5,"stream":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hello there"}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"42"}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"text":{"format":{"type":"text"}}}
        """;

    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Set("MoaGateway:Limits:MaxRequestBodyBytes", "65536")
        .Set("MoaGateway:Limits:MaxMessages", "50")
        .Set("MoaGateway:Limits:MaxTotalCharacters", "10000")
        // On, so that malformed overrides reach every check of the moa object rather than stopping at the 403.
        .Set("MoaGateway:Overrides:Enabled", "true");

    [Fact]
    public async Task Every_hostile_request_gets_a_4xx_envelope_and_the_gateway_keeps_serving() =>
        await AssertEveryOneRefusedAsync("/v1/chat/completions", [.. Corpus()], Valid);

    [Fact]
    public async Task Every_hostile_responses_request_gets_a_4xx_envelope_and_the_gateway_keeps_serving() =>
        await AssertEveryOneRefusedAsync("/v1/responses", [.. ResponsesCorpus()], ValidResponses);

    private async Task AssertEveryOneRefusedAsync(string path, List<(string Name, byte[] Body)> corpus, string valid)
    {
        Assert.True(corpus.Count >= 300, $"the corpus has only {corpus.Count} requests");

        var failures = new List<string>();
        var outcomes = new List<string>();
        foreach (var (name, body) in corpus)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await Gateway.Http.PostAsync(path, content);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode is < 400 or >= 500 || !IsEnvelope(text))
            {
                failures.Add($"{name}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
            }

            outcomes.Add($"{(int)response.StatusCode} {CodeOf(text)}");
        }

        output.WriteLine($"{corpus.Count} requests to {path}:");
        foreach (var outcome in outcomes.GroupBy(outcome => outcome).OrderByDescending(group => group.Count()))
        {
            output.WriteLine($"{outcome.Count(),5} {outcome.Key}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Empty(Upstream.Requests);
        using var good = await Gateway.Http.PostAsync(path, new StringContent(valid, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    private static string CodeOf(string text)
    {
        try
        {
            return JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>() ?? "(no code)";
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            return "(not an error envelope)";
        }
    }

    private static bool IsEnvelope(string text)
    {
        try
        {
            var error = JsonNode.Parse(text)?["error"]?.AsObject();
            return error is not null && error["message"] is JsonValue && error["type"] is JsonValue && error.ContainsKey("param") && error.ContainsKey("code");
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static IEnumerable<(string Name, byte[] Body)> Corpus()
    {
        foreach (var request in StructuralCorpus(Valid))
        {
            yield return request;
        }

        foreach (var (path, wrong) in WrongTypes())
        {
            yield return ($"{path} = {wrong}", Set(path, JsonNode.Parse(wrong)));
        }

        foreach (var huge in new[] { "1e308", "-1e308", "1e400", "99999999999999999999999", "-99999999999999999999999" })
        {
            yield return ($"max_tokens = {huge}", Replace("\"temperature\":0.5", $"\"max_tokens\":{huge}"));
            yield return ($"n = {huge}", Replace("\"temperature\":0.5", $"\"n\":{huge}"));
            yield return ($"temperature = {huge}", Replace("\"temperature\":0.5", $"\"temperature\":{huge}"));
            yield return ($"seed = {huge}", Replace("\"temperature\":0.5", $"\"seed\":{huge}"));
        }

        foreach (var depth in new[] { 65, 200, 5000 })
        {
            var nested = new string('[', depth) + new string(']', depth);
            yield return ($"nested {depth} deep in metadata", Replace("\"stream\":false", $"\"stream\":false,\"metadata\":{nested}"));
            yield return ($"nested {depth} deep in content", Replace("\"hello there\"", nested));
        }

        foreach (var role in new[] { "wizard", "", "SYSTEM", "User", "assistant ", "root", "functions", "bot" })
        {
            yield return ($"role '{role}'", Set("messages.0.role", JsonValue.Create(role)));
        }

        foreach (var content in new[] { "\"\"", "[]", "[{}]", "[{\"type\":\"text\"}]", "[{\"type\":\"text\",\"text\":5}]", "[{\"type\":5}]", "[\"text\"]", "[{\"type\":\"image_url\"}]", "null" })
        {
            yield return ($"content {content}", Set("messages.0.content", JsonNode.Parse(content)));
        }

        yield return ("body over the size limit", Replace("hello there", new string('x', 70_000)));
        yield return ("text over the character limit", Replace("hello there", new string('x', 20_000)));
        yield return ("too many messages", Set("messages", new JsonArray([.. Enumerable.Range(0, 51).Select(_ => (JsonNode)new JsonObject { ["role"] = "user", ["content"] = "hi" })])));

        foreach (var moa in MalformedMoa())
        {
            yield return ($"moa {moa}", Set("moa", JsonNode.Parse(moa)));
        }

        foreach (var (name, body) in UnpairedSurrogates().Concat(MalformedCalls()).Concat(MalformedAudio()))
        {
            yield return ($"{name} (mixture)", Encoding.UTF8.GetBytes(body.Replace("{MODEL}", "duo", StringComparison.Ordinal)));
            yield return ($"{name} (pass-through)", Encoding.UTF8.GetBytes(body.Replace("{MODEL}", "fake/solo", StringComparison.Ordinal)));
        }
    }

    /// <summary>Responses API requests a virtual model must refuse: wrong types and values at every level, state it cannot keep, limits, unpaired surrogates.</summary>
    private static IEnumerable<(string Name, byte[] Body)> ResponsesCorpus()
    {
        foreach (var request in StructuralCorpus(ValidResponses))
        {
            yield return request;
        }

        var fields = new (string Path, string[] Wrong)[]
        {
            ("model", ["5", "true", "{}", "[]", "\"\"", "null"]),
            ("input", ["5", "true", "{}", "null", "\"\"", "[]", "[5]", "[null]", "[\"hi\"]", "[[]]"]),
            ("input.0", ["5", "true", "\"hi\"", "[]", "null", "{}", "{\"type\":5}", "{\"type\":\"web_search_call\"}", "{\"type\":\"item_reference\",\"id\":\"x\"}"]),
            ("input.0.role", ["5", "true", "{}", "[]", "null", "\"tool\"", "\"USER\"", "\"\""]),
            ("input.0.content", ["5", "true", "{}", "null", "\"\"", "[]", "[5]", "[{}]", "[{\"type\":\"input_file\",\"file_id\":\"f\"}]", "[{\"type\":\"output_text\",\"text\":\"x\"}]", "[{\"type\":\"input_text\",\"text\":5}]", "[{\"type\":\"input_image\"}]", "[{\"type\":\"input_image\",\"image_url\":5}]", "[{\"type\":\"input_image\",\"image_url\":\"https://x\",\"detail\":5}]"]),
            ("input.1.call_id", ["5", "true", "{}", "null"]),
            ("input.1.name", ["5", "true", "[]", "null"]),
            ("input.1.arguments", ["5", "{}", "[]", "null"]),
            ("input.2.call_id", ["5", "true", "null"]),
            ("input.2.output", ["5", "true", "{}", "null", "[5]", "[{\"type\":\"input_image\",\"image_url\":\"https://x\"}]", "[{\"type\":\"input_text\"}]"]),
            ("instructions", ["5", "true", "{}", "[]"]),
            ("tools", ["5", "\"x\"", "true", "{}", "[5]", "[{}]", "[{\"type\":\"function\"}]", "[{\"type\":\"function\",\"name\":\"\"}]", "[{\"type\":\"web_search\"}]", "[{\"type\":\"file_search\",\"vector_store_ids\":[]}]", "[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[]}]", "[{\"type\":\"custom\",\"name\":\"apply_patch\"}]"]),
            ("tools.0.parameters", ["5", "\"x\"", "[]", "true"]),
            ("tools.0.description", ["5", "{}", "[]"]),
            ("tools.0.strict", ["5", "\"yes\"", "{}"]),
            ("tool_choice", ["5", "true", "[]", "\"any\"", "{}", "{\"type\":\"web_search_preview\"}", "{\"type\":\"function\"}", "{\"type\":\"allowed_tools\",\"mode\":\"auto\",\"tools\":[]}"]),
            ("parallel_tool_calls", ["5", "\"yes\"", "{}"]),
            ("text", ["5", "\"json\"", "true", "[]"]),
            ("text.format", ["5", "\"json\"", "[]", "{}", "{\"type\":5}", "{\"type\":\"xml\"}", "{\"type\":\"json_schema\"}", "{\"type\":\"json_schema\",\"name\":\"n\"}", "{\"type\":\"json_schema\",\"name\":\"n\",\"schema\":5}"]),
            ("temperature", ["\"hot\"", "true", "{}", "[]", "3", "-0.1"]),
            ("top_p", ["\"all\"", "true", "{}", "1.5", "-1"]),
            ("max_output_tokens", ["\"10\"", "true", "{}", "0", "-5", "2.5", "1e400"]),
            ("stream", ["\"yes\"", "1", "{}", "[]"]),
            ("store", ["\"no\"", "0", "{}"]),
            ("background", ["\"no\"", "0", "true"]),
            ("previous_response_id", ["\"resp_1\"", "5"]),
            ("conversation", ["\"conv_1\"", "{\"id\":\"conv_1\"}"]),
            ("prompt", ["{\"id\":\"pmpt_1\"}"]),
            ("metadata", ["5", "\"x\"", "[]", "{\"k\":5}", "{\"k\":null}"]),
            ("include", ["5", "\"x\"", "{}", "[5]", "[null]"]),
            ("user", ["5", "true", "{}"]),
        };
        foreach (var (path, wrongs) in fields)
        {
            foreach (var wrong in wrongs)
            {
                yield return ($"{path} = {wrong}", Set(path, JsonNode.Parse(wrong), ValidResponses));
            }
        }

        yield return ("text over the character limit", Replace("hello there", new string('x', 20_000), ValidResponses));
        yield return ("too many input items", Set("input", new JsonArray([.. Enumerable.Range(0, 51).Select(_ => (JsonNode)new JsonObject { ["role"] = "user", ["content"] = "hi" })]), ValidResponses));
        yield return ("body over the size limit", Replace("hello there", new string('x', 70_000), ValidResponses));
        foreach (var surrogate in new[] { @"\ud800", @"\udc00", @"\udfff\ud800", @"\udbff\u0041" })
        {
            foreach (var field in new[] { "\"duo", "\"be brief", "\"hello there", "\"c1", "\"f", "\"42", "\"user", "\"input_text" })
            {
                yield return ($"surrogate {surrogate} in {field}", Replace(field, field + surrogate, ValidResponses));
            }
        }
    }

    /// <summary>
    /// Damage any JSON endpoint must refuse, made from one of its valid requests: every truncation, bytes that are not
    /// UTF-8, bodies that are no request, duplicate properties, JSON extensions, and random byte damage.
    /// </summary>
    private static IEnumerable<(string Name, byte[] Body)> StructuralCorpus(string validText)
    {
        var valid = Encoding.UTF8.GetBytes(validText);
        for (var length = 0; length < valid.Length; length++)
        {
            yield return ($"truncated at {length}", valid[..length]);
        }

        foreach (var bytes in new byte[][] { [0xC0, 0x80], [0xFF], [0xFE, 0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80] })
        {
            var index = Array.IndexOf(valid, (byte)'h');
            yield return ($"invalid UTF-8 {Convert.ToHexString(bytes)}", [.. valid[..index], .. bytes, .. valid[index..]]);
        }

        foreach (var body in new[] { "", " ", "[]", "1", "\"text\"", "null", "true", "{}", "{\"model\":\"duo\"}", "{\"messages\":[]}" })
        {
            yield return ($"body {body}", Encoding.UTF8.GetBytes(body));
        }

        yield return ("duplicate property", Replace("\"stream\":false", "\"stream\":false,\"stream\":true", validText));
        yield return ("trailing comma", Replace("\"stream\":false", "\"stream\":false,", validText));
        yield return ("comment", Replace("{\"model\"", "{/* hi */\"model\"", validText));
        yield return ("NaN", Replace("0.5", "NaN", validText));
        yield return ("single quotes", Replace("\"hello there\"", "'hello there'", validText));
        yield return ("two documents", [.. valid, .. valid]);

        // Random byte damage; kept only where a strict parser rejects the result, so each one is truly malformed.
        var random = new Random(20240610);
        var kept = 0;
        while (kept < 100)
        {
            var damaged = valid.ToArray();
            for (var hits = random.Next(1, 4); hits > 0; hits--)
            {
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            }

            if (!IsStrictJson(damaged))
            {
                kept++;
                yield return ($"damaged bytes #{kept}", damaged);
            }
        }
    }

    /// <summary>A request's moa object wrong at every level it has: shapes, types, ranges, names, bounds and models.</summary>
    private static IEnumerable<string> MalformedMoa()
    {
        string[] wholes = ["-1", "0", "1.5", "\"2\"", "true", "[]", "{}", "1e308", "99999999999999999999"];
        foreach (var value in new[] { "1", "\"x\"", "true", "[1]", "[{}]", "[[]]" })
        {
            yield return value;
            yield return $$$"""{"layers":{{{value}}}}""";
            yield return $$$"""{"aggregator":{{{value}}}}""";
            yield return $$$"""{"aggregator_fallbacks":{{{value}}}}""";
            yield return $$$"""{"layers":[{"agents":{{{value}}}}]}""";
        }

        // An empty list of layers or fallbacks is a valid override; of agents, or as the moa object or an agent, it is not.
        yield return "[]";
        yield return """{"aggregator":[]}""";
        yield return """{"layers":[{"agents":[]}]}""";

        foreach (var field in new[] { "min_agents", "quorum" })
        {
            foreach (var whole in wholes)
            {
                yield return $$$"""{"layers":[{"agents":["fake/a"],"{{{field}}}":{{{whole}}}}]}""";
            }
        }

        foreach (var field in new[] { "samples", "max_tokens" })
        {
            foreach (var whole in wholes)
            {
                yield return $$$"""{"layers":[{"agents":[{"model":"fake/a","{{{field}}}":{{{whole}}}}]}]}""";
            }
        }

        foreach (var temperature in new[] { "-0.1", "2.01", "1e308", "\"hot\"", "[]" })
        {
            yield return $$$"""{"aggregator":{"model":"fake/a","temperature":{{{temperature}}}}}""";
        }

        foreach (var agent in new[] { "\"\"", "\"fake\"", "\"/a\"", "\"fake/\"", "\"nowhere/a\"", "{}", "{\"provider\":\"fake\"}", "{\"model\":\"a\"}", "{\"model\":5}", "{\"model\":\"fake/a\",\"top_k\":1}" })
        {
            yield return $$$"""{"layers":[{"agents":[{{{agent}}}]}]}""";
            yield return $$$"""{"aggregator":{{{agent}}}}""";
        }

        yield return """{"layers":[{"agents":["fake/a"],"straggler_grace_ms":-5,"quorum":1}]}""";
        yield return """{"layers":[{"agents":["fake/a"],"straggler_grace_ms":100}]}""";
        yield return """{"layers":[{"agents":["fake/a"],"quorom":1}]}""";
        yield return """{"Layers":[]}""";
        yield return """{"include_everything":true}""";
        yield return """{"aggregate_prompt":" "}""";
        yield return """{"aggregate_prompt":["x"]}""";
        yield return """{"layers":[],"aggregate_prompt":"Vote."}""";
        yield return """{"max_reference_characters":0}""";
        yield return """{"aggregator":{"model":"fake/a","samples":2}}""";
        yield return $$$"""{"layers":[{{{string.Join(",", Enumerable.Repeat("""{"agents":["fake/a"]}""", 4))}}}]}""";
        yield return $$$"""{"layers":[{"agents":[{{{string.Join(",", Enumerable.Repeat("\"fake/a\"", 5000))}}}]}]}""";
        yield return """{"layers":[{"agents":[{"model":"fake/a","samples":2147483647}]}]}""";
        yield return $$$"""{"aggregator_fallbacks":[{{{string.Join(",", Enumerable.Repeat("\"fake/a\"", 40))}}}]}""";
    }

    /// <summary>Every string the parser reads, in turn holding each kind of unpaired UTF-16 surrogate escape ({S} marks the spot).</summary>
    private static IEnumerable<(string Name, string Body)> UnpairedSurrogates()
    {
        const string User = """{"role":"user","content":"hi"}""";
        const string Call = """{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}""";
        var fields = new (string Field, string Body)[]
        {
            ("model", """{"model":"{MODEL}{S}","messages":[{"role":"user","content":"hi"}]}"""),
            ("role", """{"model":"{MODEL}","messages":[{"role":"user{S}","content":"hi"}]}"""),
            ("content", """{"model":"{MODEL}","messages":[{"role":"user","content":"hi {S} there"}]}"""),
            ("system content", """{"model":"{MODEL}","messages":[{"role":"system","content":"{S}"},{"role":"user","content":"hi"}]}"""),
            ("text part", """{"model":"{MODEL}","messages":[{"role":"user","content":[{"type":"text","text":"hi{S}"}]}]}"""),
            ("part type", """{"model":"{MODEL}","messages":[{"role":"user","content":[{"type":"text{S}","text":"hi"}]}]}"""),
            ("image url", """{"model":"{MODEL}","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/{S}"}}]}]}"""),
            ("name", """{"model":"{MODEL}","messages":[{"role":"user","content":"hi","name":"n{S}"}]}"""),
            ("refusal part", """{"model":"{MODEL}","messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"{S}"}]},{"role":"user","content":"hi"}]}"""),
            ("tool call id", """{"model":"{MODEL}","messages":[{USER},{"role":"assistant","content":null,"tool_calls":[{"id":"c{S}","type":"function","function":{"name":"f","arguments":"{}"}}]}]}"""),
            ("tool call name", """{"model":"{MODEL}","messages":[{USER},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f{S}","arguments":"{}"}}]}]}"""),
            ("tool call arguments", """{"model":"{MODEL}","messages":[{USER},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":\"{S}\"}"}}]}]}"""),
            ("tool message", """{"model":"{MODEL}","messages":[{USER},{CALL},{"role":"tool","tool_call_id":"c1","content":"{S}"}]}"""),
            ("tool message call id", """{"model":"{MODEL}","messages":[{USER},{CALL},{"role":"tool","tool_call_id":"c1{S}","content":"42"}]}"""),
            ("function_call name", """{"model":"{MODEL}","messages":[{USER},{"role":"assistant","content":null,"function_call":{"name":"f{S}","arguments":"{}"}}]}"""),
            ("tool name", """{"model":"{MODEL}","tools":[{"type":"function","function":{"name":"f{S}"}}],"messages":[{"role":"user","content":"hi"}]}"""),
            ("tool description", """{"model":"{MODEL}","tools":[{"type":"function","function":{"name":"f","description":"{S}"}}],"messages":[{"role":"user","content":"hi"}]}"""),
            ("tool_choice", """{"model":"{MODEL}","tool_choice":"auto{S}","messages":[{"role":"user","content":"hi"}]}"""),
            ("stop", """{"model":"{MODEL}","stop":["x","{S}"],"messages":[{"role":"user","content":"hi"}]}"""),
            ("user", """{"model":"{MODEL}","user":"{S}","messages":[{"role":"user","content":"hi"}]}"""),
            ("response_format type", """{"model":"{MODEL}","response_format":{"type":"text{S}"},"messages":[{"role":"user","content":"hi"}]}"""),
            ("metadata value", """{"model":"{MODEL}","metadata":{"k":"{S}"},"messages":[{"role":"user","content":"hi"}]}"""),
            ("property name", """{"model":"{MODEL}","x_{S}":1,"messages":[{"role":"user","content":"hi"}]}"""),
            ("nested property name", """{"model":"{MODEL}","messages":[{"role":"user","content":"hi","x":{"{S}":true}}]}"""),
            ("moa agent", """{"model":"{MODEL}","moa":{"layers":[{"agents":["fake/a{S}"]}]},"messages":[{"role":"user","content":"hi"}]}"""),
            ("moa field name", """{"model":"{MODEL}","moa":{"{S}":1},"messages":[{"role":"user","content":"hi"}]}"""),
        };
        string[] surrogates = [@"\ud800", @"\udc00", @"\ud800\ud800", @"\udfff\ud800", @"\udbff\u0041", @"\\\ud800"];
        return fields.SelectMany(field => surrogates.Select(surrogate => ($"surrogate {surrogate} in {field.Field}", field.Body
            .Replace("{USER}", User, StringComparison.Ordinal)
            .Replace("{CALL}", Call, StringComparison.Ordinal)
            .Replace("{S}", surrogate, StringComparison.Ordinal))));
    }

    /// <summary>Assistant tool calls and function calls that the Chat Completions API refuses.</summary>
    private static IEnumerable<(string Name, string Body)> MalformedCalls()
    {
        string[] toolCalls =
        [
            """[{"id":"c","type":"function","function":{}}]""",
            """[{"id":"c","type":"function","function":{"name":"f"}}]""",
            """[{"id":"c","type":"function","function":{"arguments":"{}"}}]""",
            """[{"id":"c","type":"function","function":{"name":5,"arguments":"{}"}}]""",
            """[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]""",
            """[{"id":"c","type":"function","function":{"name":"f","arguments":null}}]""",
            """[{"id":"c","type":"function","function":"f"}]""",
            """[{"id":"c","type":"function"}]""",
            """[{"type":"function","function":{"name":"f","arguments":"{}"}}]""",
            """[{"id":7,"type":"function","function":{"name":"f","arguments":"{}"}}]""",
            """[{"id":"c","function":{"name":"f","arguments":"{}"}}]""",
            """[{"id":"c","type":"retrieval","function":{"name":"f","arguments":"{}"}}]""",
            """[{"id":"c","type":5,"function":{"name":"f","arguments":"{}"}}]""",
            """[5]""",
            """[null]""",
            """["call"]""",
            """{"id":"c"}""",
            "\"calls\"",
        ];
        string[] functionCalls =
        [
            "{}",
            """{"name":"f"}""",
            """{"arguments":"{}"}""",
            """{"name":5,"arguments":"{}"}""",
            """{"name":"f","arguments":{}}""",
            "\"f\"",
            "[]",
            "5",
        ];
        return toolCalls.Select(calls => ($"tool_calls {calls}", $$"""{"model":"{MODEL}","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":{{calls}}}]}"""))
            .Concat(functionCalls.Select(call => ($"function_call {call}", $$"""{"model":"{MODEL}","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"function_call":{{call}}}]}""")));
    }

    private static IEnumerable<(string Name, string Body)> MalformedAudio()
    {
        string[] audios = ["{}", """{"voice":"alloy"}""", """{"format":"wav"}""", """{"voice":5,"format":"wav"}""", """{"voice":"alloy","format":null}""", "\"alloy\"", "[]", "true"];
        return audios.Select(audio => ($"audio {audio}", $$"""{"model":"{MODEL}","audio":{{audio}},"messages":[{"role":"user","content":"hi"}]}"""));
    }

    private static IEnumerable<(string Path, string Wrong)> WrongTypes()
    {
        var fields = new (string Path, string[] Wrong)[]
        {
            ("model", ["5", "true", "{}", "[]", "\"\""]),
            ("messages", ["5", "true", "{}", "\"hi\"", "[]"]),
            ("messages.0", ["5", "true", "\"hi\"", "[]", "null"]),
            ("messages.0.role", ["5", "true", "{}", "[]", "null"]),
            ("messages.0.content", ["5", "true", "{}"]),
            ("messages.0.name", ["5", "true", "{}", "[]"]),
            ("temperature", ["\"hot\"", "true", "{}", "[]", "3", "-0.1"]),
            ("top_p", ["\"all\"", "true", "{}", "[]", "1.5", "-1"]),
            ("presence_penalty", ["\"x\"", "true", "3", "-3"]),
            ("frequency_penalty", ["\"x\"", "false", "2.5", "-2.5"]),
            ("max_tokens", ["\"10\"", "true", "{}", "0", "-5", "2.5"]),
            ("max_completion_tokens", ["\"10\"", "false", "[]", "0"]),
            ("n", ["2", "0", "\"1\"", "true", "[]"]),
            ("stream", ["\"yes\"", "1", "{}", "[]"]),
            ("stream_options", ["5", "\"x\"", "true", "[]", "{\"include_usage\":true}"]),
            ("stop", ["5", "true", "{}", "[1]", "[\"a\",\"b\",\"c\",\"d\",\"e\"]"]),
            ("seed", ["\"42\"", "true", "1.5", "{}"]),
            ("user", ["5", "true", "{}", "[]"]),
            ("tools", ["5", "\"x\"", "true", "{}", "[5]", "[{\"type\":\"function\"}]", "[{\"type\":\"function\",\"function\":{}}]", "[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]"]),
            ("tool_choice", ["5", "true", "[]"]),
            ("response_format", ["5", "\"json\"", "true", "[]", "{\"type\":5}"]),
        };
        return fields.SelectMany(field => field.Wrong.Select(wrong => (field.Path, wrong)));
    }

    private static byte[] Replace(string find, string replacement, string valid = Valid) =>
        Encoding.UTF8.GetBytes(valid.Replace(find, replacement, StringComparison.Ordinal));

    /// <summary>The valid request with the value at a dotted path (array indexes as numbers) replaced.</summary>
    private static byte[] Set(string path, JsonNode? value, string valid = Valid)
    {
        var root = JsonNode.Parse(valid)!;
        var parts = path.Split('.');
        var parent = parts[..^1].Aggregate(root, (node, part) => int.TryParse(part, out var i) ? node[i]! : node[part]!);
        var last = parts[^1];
        if (int.TryParse(last, out var index))
        {
            parent.AsArray()[index] = value;
        }
        else
        {
            parent[last] = value;
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static bool IsStrictJson(byte[] bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowDuplicateProperties = false });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
