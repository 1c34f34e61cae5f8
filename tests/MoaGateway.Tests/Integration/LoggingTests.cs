using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The gateway's own log output, compact JSON lines read from the standard output of the real process.</summary>
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

    private static string Template(JsonObject line) => line["@mt"]!.GetValue<string>();

    private static bool IsRequestLine(JsonObject line) => Template(line).StartsWith("HTTP {RequestMethod} {RequestPath} {StatusCode}", StringComparison.Ordinal);

    private static bool IsRequestLineFor(JsonObject line, string path) => IsRequestLine(line) && line["RequestPath"]!.GetValue<string>() == path;

    [Fact]
    public async Task The_request_line_carries_the_cost_of_the_mixture_and_whether_it_is_complete()
    {
        var (gateway, upstream) = await StartAsync(
            ("MoaGateway__Pricing__0__Model", "together/*"),
            ("MoaGateway__Pricing__0__InputPerMillion", "1.20"),
            ("MoaGateway__Pricing__0__OutputPerMillion", "4.80"));
        using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.OK, await AskAsync(gateway, "What does it cost?"));
        var request = Assert.Single(await LinesAsync(gateway, IsRequestLine), IsRequestLine);

        // moa-lite: seven calls of 11 prompt tokens and 3 completion tokens.
        Assert.Contains("cost {CostUsd}", Template(request), StringComparison.Ordinal);
        Assert.Equal(7 * ((11 * 1.20m) + (3 * 4.80m)) / 1_000_000m, request["CostUsd"]!.GetValue<decimal>());
        Assert.True(request["CostComplete"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Every_line_is_json_with_one_line_per_request_and_one_event_per_agent_call_sharing_a_trace_id()
    {
        var (gateway, upstream) = await StartAsync();
        using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.OK, await AskAsync(gateway, "What is MoA?"));
        var lines = await LinesAsync(gateway, IsRequestLine);

        var request = Assert.Single(lines, IsRequestLine);
        Assert.Equal("POST", request["RequestMethod"]!.GetValue<string>());
        Assert.Equal("/v1/chat/completions", request["RequestPath"]!.GetValue<string>());
        Assert.Equal(200, request["StatusCode"]!.GetValue<int>());
        Assert.Equal("moa-lite", request["Model"]!.GetValue<string>());
        Assert.False(request["Stream"]!.GetValue<bool>());
        Assert.Equal(7 * 14, request["TotalTokens"]!.GetValue<int>());
        Assert.True(request["Elapsed"]!.GetValue<double>() > 0);
        Assert.StartsWith("req_", request["RequestId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(request["@l"]);

        var traceId = request["@tr"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        Assert.Matches("^[0-9a-f]{16}$", request["@sp"]!.GetValue<string>());
        var calls = lines.Where(l => Template(l).StartsWith("Agent call", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, calls.Count);
        Assert.Equal(6, calls.Count(c => c["Role"]!.GetValue<string>() == "layer 1"));
        Assert.Single(calls, c => c["Role"]!.GetValue<string>() == "aggregator");
        Assert.All(calls, call =>
        {
            Assert.Equal(traceId, call["@tr"]!.GetValue<string>());
            Assert.Equal(request["RequestId"]!.GetValue<string>(), call["RequestId"]!.GetValue<string>());
            Assert.Equal("together", call["Provider"]!.GetValue<string>());
            Assert.Equal("Answered", call["Outcome"]!.GetValue<string>());
            Assert.Equal(11, call["PromptTokens"]!.GetValue<int>());
            Assert.True(call["TimeToFirstTokenMs"]!.GetValue<double>() > 0);
            Assert.Equal(1, call["Attempts"]!.GetValue<int>());
        });
    }

    [Fact]
    public async Task With_export_off_the_clients_trace_id_is_in_the_log_lines_and_reaches_the_providers()
    {
        var (gateway, upstream) = await StartAsync();
        using var _ = gateway;
        await using var __ = upstream;
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        // No header propagation by the test's own client: the traceparent above is the only one.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = gateway.Http.BaseAddress };
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var lines = await LinesAsync(gateway, IsRequestLine);
        Assert.Equal(traceId, Assert.Single(lines, IsRequestLine)["@tr"]!.GetValue<string>());
        Assert.Equal(7, upstream.Requests.Count);
        Assert.All(upstream.Requests, call => Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-0[01]$", call.Header("traceparent") ?? "none"));
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
            var request = Assert.Single(await LinesAsync(quiet, IsRequestLine), IsRequestLine);
            Assert.False(request.ContainsKey("Prompt"));
            Assert.False(request.ContainsKey("Completion"));
            Assert.DoesNotContain(quiet.Output, line => line.Contains(prompt, StringComparison.Ordinal));
            Assert.DoesNotContain(quiet.Output, line => line.Contains("answer from", StringComparison.Ordinal));
        }

        var (verbose, verboseUpstream) = await StartAsync(("MoaGateway__Logging__IncludeContent", "true"));
        using (verbose)
        await using (verboseUpstream)
        {
            await AskAsync(verbose, prompt);
            var request = Assert.Single(await LinesAsync(verbose, IsRequestLine), IsRequestLine);
            Assert.Contains(prompt, request["Prompt"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("answer from Qwen/Qwen2.5-72B-Instruct-Turbo", request["Completion"]!.GetValue<string>());
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

        Assert.Equal(2, lines.Count(line => line["Error"]?.GetValue<string>()?.Contains("HTTP 401: Incorrect API key provided: [redacted]", StringComparison.Ordinal) == true));
        Assert.DoesNotContain(gateway.Output, line => line.Contains(UpstreamKey, StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Output, line => line.Contains("Bearer", StringComparison.OrdinalIgnoreCase));
        Assert.All(gateway.Output, line => JsonDocument.Parse(line).Dispose());
    }

    [Fact]
    public async Task Sinks_configured_under_serilog_write_to_replace_the_default_console_sink()
    {
        // The README's way to keep a configured sink off the request path: wrapped in Async.
        var (gateway, upstream) = await StartAsync(
            ("Serilog__WriteTo__0__Name", "Async"),
            ("Serilog__WriteTo__0__Args__configure__0__Name", "Console"),
            ("Serilog__WriteTo__0__Args__configure__0__Args__formatter", "Serilog.Formatting.Compact.RenderedCompactJsonFormatter, Serilog.Formatting.Compact"));
        using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.OK, await AskAsync(gateway, "Hi"));

        // The rendered format carries the message (@m) and an event id (@i) instead of the template (@mt).
        static bool IsRenderedRequestLine(JsonObject line) => line["RequestMethod"]?.GetValue<string>() == "POST";
        var lines = await LinesAsync(gateway, IsRenderedRequestLine);
        var request = Assert.Single(lines, IsRenderedRequestLine);
        Assert.StartsWith("HTTP ", request["@m"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{8}$", request["@i"]!.GetValue<string>());
        Assert.All(lines, line => Assert.False(line.ContainsKey("@mt")));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_is_logged_with_status_499()
    {
        var (gateway, upstream) = await StartAsync();
        using var _ = gateway;
        await using var __ = upstream;
        upstream.Reply("Qwen/Qwen2.5-72B-Instruct-Turbo", new FakeReply { Delay = Timeout.InfiniteTimeSpan });
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = gateway.Http.BaseAddress };
        using var cancel = new CancellationTokenSource();
        var sending = client.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"moa-lite","stream":true,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"), cancel.Token);
        await Eventually.True(() => upstream.RequestsFor("Qwen/Qwen2.5-72B-Instruct-Turbo").Count > 0);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var request = Assert.Single(await LinesAsync(gateway, IsRequestLine), IsRequestLine);
        Assert.Equal(499, request["StatusCode"]!.GetValue<int>());
        Assert.True(request["Stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Health_probes_are_logged_only_at_debug_level()
    {
        var (quiet, quietUpstream) = await StartAsync();
        using (quiet)
        await using (quietUpstream)
        {
            using (await quiet.Http.GetAsync("/readyz"))
            {
            }

            Assert.Equal(HttpStatusCode.OK, await AskAsync(quiet, "Hi"));
            var lines = await LinesAsync(quiet, line => IsRequestLineFor(line, "/v1/chat/completions"));
            Assert.DoesNotContain(lines, line => IsRequestLineFor(line, "/readyz") || IsRequestLineFor(line, "/healthz"));
        }

        var (verbose, verboseUpstream) = await StartAsync(("Serilog__MinimumLevel__Default", "Debug"));
        using (verbose)
        await using (verboseUpstream)
        {
            using (await verbose.Http.GetAsync("/readyz"))
            {
            }

            var lines = await LinesAsync(verbose, line => IsRequestLineFor(line, "/readyz"));
            var probe = Assert.Single(lines, line => IsRequestLineFor(line, "/readyz"));
            Assert.Equal("Debug", probe["@l"]!.GetValue<string>());
            Assert.Equal(200, probe["StatusCode"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task A_log_reader_that_stops_reading_holds_up_no_answer_and_the_dropped_lines_are_counted()
    {
        var managementPort = GatewayProcess.FreePort();
        // Debug level: every request writes dozens of lines into a pipe that nobody reads.
        using var gateway = GatewayProcess.Start(
            new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
                ["MoaGateway__Providers__together__Simulation__TimeToFirstTokenMs"] = "0",
                ["MoaGateway__Providers__together__Simulation__TokensPerSecond"] = "0",
                ["MoaGateway__Management__Port"] = managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Serilog__MinimumLevel__Default"] = "Debug",
            },
            readOutput: false);
        await gateway.WaitUntilServingAsync();
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}") };

        var deadline = DateTime.UtcNow.AddSeconds(120);
        var answered = 0;
        while (await DroppedAsync(management) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no log event was dropped after {answered} answers");
            var batch = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
            {
                // Far longer than an answer takes; a gateway waiting on its log output would miss it.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                using var response = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
                    """{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"), timeout.Token);
                return response.StatusCode;
            }));
            Assert.All(batch, status => Assert.Equal(HttpStatusCode.OK, status));
            answered += batch.Length;
        }
    }

    private static async Task<long> DroppedAsync(HttpClient management)
    {
        var metrics = await management.GetStringAsync("/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("moa_log_events_dropped_total", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
