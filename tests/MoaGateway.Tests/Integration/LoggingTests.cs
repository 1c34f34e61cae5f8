using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The gateway's own log output, read from the standard output of the real process.</summary>
public sealed class LoggingTests
{
    private const string UpstreamKey = "sk-upstream-logging-secret-31337";

    private static async Task<(GatewayProcess Gateway, FakeUpstream Upstream)> StartAsync(params (string Name, string Value)[] extra)
    {
        var upstream = await FakeUpstream.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TOGETHER_API_KEY"] = UpstreamKey,
            ["MoaGateway__Providers__together__BaseUrl"] = upstream.BaseUrl,
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        };
        foreach (var (name, value) in extra)
        {
            environment[name] = value;
        }

        var gateway = GatewayProcess.Start(environment);
        await gateway.WaitUntilServingAsync();
        return (gateway, upstream);
    }

    private static async Task<HttpStatusCode> AskAsync(GatewayProcess gateway, string prompt)
    {
        using var response = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"model":"moa-lite","messages":[{"role":"user","content":"{{prompt}}"}]}""", Encoding.UTF8, "application/json"));
        await response.Content.ReadAsStringAsync();
        return response.StatusCode;
    }

    private static async Task<List<JsonObject>> LinesAsync(GatewayProcess gateway, Func<JsonObject, bool> until)
    {
        List<JsonObject> lines = [];
        await Eventually.True(() =>
        {
            lines = [.. gateway.Output.Select(line => JsonNode.Parse(line)!.AsObject())];
            return lines.Any(until);
        });
        return lines;
    }

    private static bool IsRequestLine(JsonObject line) => line["MessageTemplate"]!.GetValue<string>().StartsWith("HTTP {Method}", StringComparison.Ordinal);

    [Fact]
    public async Task Every_line_is_json_with_one_line_per_request_and_one_event_per_agent_call_sharing_a_trace_id()
    {
        var (gateway, upstream) = await StartAsync();
        using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.OK, await AskAsync(gateway, "What is MoA?"));
        var lines = await LinesAsync(gateway, IsRequestLine);

        var request = Assert.Single(lines, IsRequestLine);
        Assert.Equal("POST", request["Method"]!.GetValue<string>());
        Assert.Equal("/v1/chat/completions", request["Path"]!.GetValue<string>());
        Assert.Equal(200, request["StatusCode"]!.GetValue<int>());
        Assert.Equal("moa-lite", request["Model"]!.GetValue<string>());
        Assert.False(request["Stream"]!.GetValue<bool>());
        Assert.Equal(7 * 14, request["TotalTokens"]!.GetValue<int>());
        Assert.True(request["DurationMs"]!.GetValue<double>() > 0);
        Assert.StartsWith("HTTP POST /v1/chat/completions 200 in ", request["Message"]!.GetValue<string>(), StringComparison.Ordinal);

        var traceId = request["TraceId"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        var calls = lines.Where(l => l["MessageTemplate"]!.GetValue<string>().StartsWith("Agent call", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, calls.Count);
        Assert.Equal(6, calls.Count(c => c["Role"]!.GetValue<string>() == "layer 1"));
        Assert.Single(calls, c => c["Role"]!.GetValue<string>() == "aggregator");
        Assert.All(calls, call =>
        {
            Assert.Equal(traceId, call["TraceId"]!.GetValue<string>());
            Assert.Equal("together", call["Provider"]!.GetValue<string>());
            Assert.Equal("Answered", call["Outcome"]!.GetValue<string>());
            Assert.Equal(11, call["PromptTokens"]!.GetValue<int>());
            Assert.True(call["TimeToFirstTokenMs"]!.GetValue<double>() > 0);
            Assert.Equal(1, call["Attempts"]!.GetValue<int>());
        });
    }

    [Fact]
    public async Task Prompts_and_answers_stay_out_of_the_logs_unless_enabled()
    {
        const string prompt = "purple-elephant-4242";
        var (quiet, quietUpstream) = await StartAsync();
        using (quiet)
        await using (quietUpstream)
        {
            await AskAsync(quiet, prompt);
            await LinesAsync(quiet, IsRequestLine);
            Assert.DoesNotContain(quiet.Output, line => line.Contains(prompt, StringComparison.Ordinal));
            Assert.DoesNotContain(quiet.Output, line => line.Contains("answer from", StringComparison.Ordinal));
        }

        var (verbose, verboseUpstream) = await StartAsync(("MoaGateway__Logging__IncludeContent", "true"));
        using (verbose)
        await using (verboseUpstream)
        {
            await AskAsync(verbose, prompt);
            var lines = await LinesAsync(verbose, line => line["MessageTemplate"]!.GetValue<string>().StartsWith("Content of request", StringComparison.Ordinal));
            var content = Assert.Single(lines, line => line["MessageTemplate"]!.GetValue<string>().StartsWith("Content of request", StringComparison.Ordinal));
            Assert.Contains(prompt, content["Prompt"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("answer from Qwen/Qwen2.5-72B-Instruct-Turbo", content["Completion"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Request_lines_name_the_client_key_and_request_id_and_no_key_or_authorization_value_is_logged()
    {
        const string clientKey = "sk-client-logging-secret-5150";
        const string wrongKey = "sk-wrong-logging-secret-8086";
        var (gateway, upstream) = await StartAsync(
            ("MoaGateway__Auth__Keys__team-a__KeyEnv", "TEAM_A_KEY"),
            ("TEAM_A_KEY", clientKey));
        using var _ = gateway;
        await using var __ = upstream;

        foreach (var (key, requestId) in new[] { (clientKey, "req-accepted-1"), (wrongKey, "req-refused-1") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new("Bearer", key);
            request.Headers.Add("x-request-id", requestId);
            using var response = await gateway.Http.SendAsync(request);
        }

        var lines = await LinesAsync(gateway, line => IsRequestLine(line) && line["RequestId"]?.GetValue<string>() == "req-refused-1");

        var accepted = Assert.Single(lines, line => IsRequestLine(line) && line["RequestId"]?.GetValue<string>() == "req-accepted-1");
        Assert.Equal("team-a", accepted["ClientKeyId"]!.GetValue<string>());
        Assert.Equal(200, accepted["StatusCode"]!.GetValue<int>());
        var refused = Assert.Single(lines, line => IsRequestLine(line) && line["RequestId"]?.GetValue<string>() == "req-refused-1");
        Assert.Equal(401, refused["StatusCode"]!.GetValue<int>());
        Assert.Null(refused["ClientKeyId"]?.GetValue<string>());
        foreach (var secret in new[] { clientKey, wrongKey, UpstreamKey, "Bearer" })
        {
            Assert.DoesNotContain(gateway.Output, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Upstream_keys_never_reach_the_logs_even_when_an_upstream_echoes_them()
    {
        var (gateway, upstream) = await StartAsync();
        using var _ = gateway;
        await using var __ = upstream;
        upstream.Reply("Qwen/Qwen2.5-72B-Instruct-Turbo", new FakeReply { Status = 401, ErrorMessage = $"Incorrect API key provided: {UpstreamKey}" });

        // The shipped fallback aggregator answers; the failed calls (as proposer and as aggregator) are logged with their error.
        Assert.Equal(HttpStatusCode.OK, await AskAsync(gateway, "Hi"));
        var lines = await LinesAsync(gateway, IsRequestLine);

        Assert.Equal(2, lines.Count(line => line["Message"]!.GetValue<string>().Contains("HTTP 401: Incorrect API key provided: [redacted]", StringComparison.Ordinal)));
        Assert.DoesNotContain(gateway.Output, line => line.Contains(UpstreamKey, StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Output, line => line.Contains("Bearer", StringComparison.OrdinalIgnoreCase));
        Assert.All(gateway.Output, line => JsonDocument.Parse(line).Dispose());
    }
}
