using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>Retries, timeouts, partial layers, stragglers, fallbacks and the circuit breaker, against a misbehaving fake.</summary>
public sealed class ResilienceTests
{
    private static async Task<(FakeUpstream Upstream, GatewayHost Gateway)> StartAsync(Action<FakeUpstream> script, Func<GatewaySettings, GatewaySettings> configure)
    {
        var upstream = await FakeUpstream.StartAsync();
        script(upstream);
        return (upstream, await GatewayHost.StartAsync(configure(new GatewaySettings().Provider("fake", upstream))));
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> AskAsync(GatewayHost gateway, string model)
    {
        using var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Hi" } } });
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static JsonNode Agent(JsonNode body, int layer, int agent) => body["usage"]!["moa"]!["layers"]![layer]!["agents"]![agent]!;

    /// <summary>Agents of layer 1 of model <paramref name="id"/>, each "provider/model"; the aggregator is fake/agg.</summary>
    private static GatewaySettings Layer(GatewaySettings settings, string id, params string[] agents)
    {
        for (var i = 0; i < agents.Length; i++)
        {
            var slash = agents[i].IndexOf('/', StringComparison.Ordinal);
            settings.Set($"MoaGateway:Models:{id}:Layers:0:Agents:{i}:Provider", agents[i][..slash])
                .Set($"MoaGateway:Models:{id}:Layers:0:Agents:{i}:Model", agents[i][(slash + 1)..]);
        }

        return settings.Set($"MoaGateway:Models:{id}:Aggregator:Provider", "fake").Set($"MoaGateway:Models:{id}:Aggregator:Model", "agg");
    }

    private static GatewaySettings QuickBreaker(GatewaySettings settings, string provider) => settings
        .Set($"MoaGateway:Providers:{provider}:Retry:MaxRetries", "0")
        .Set($"MoaGateway:Providers:{provider}:CircuitBreaker:MinimumThroughput", "3")
        .Set($"MoaGateway:Providers:{provider}:CircuitBreaker:BreakSeconds", "60");

    private static GatewaySettings WithBackup(GatewaySettings settings) => settings
        .Model("m", [["p1"]], "agg")
        .Set("MoaGateway:Models:m:AggregatorFallbacks:0:Provider", "fake")
        .Set("MoaGateway:Models:m:AggregatorFallbacks:0:Model", "backup");

    private static Task<HttpResponseMessage> PostAsync(GatewayHost gateway, object body) => gateway.Http.SendAsync(
        new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) }, HttpCompletionOption.ResponseHeadersRead);

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task A_transient_failure_is_retried_and_the_retry_answers(int status)
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("p1", new FakeReply { Status = status, FailTimes = 1 }), s => s.Model("m", [["p1", "p2"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(2, upstream.RequestsFor("p1").Count);
        Assert.Equal("answered", Agent(body, 0, 0)["status"]!.GetValue<string>());
        Assert.Equal(2, Agent(body, 0, 0)["attempts"]!.GetValue<int>());
        Assert.Equal(1, Agent(body, 0, 1)["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_client_error_is_not_retried()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("p1", new FakeReply { Status = 400 }), s => s.Model("m", [["p1", "p2"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (_, body) = await AskAsync(gateway, "m");

        Assert.Single(upstream.RequestsFor("p1"));
        Assert.Equal("failed", Agent(body, 0, 0)["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Retry_After_is_honoured_before_the_retry()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Status = 429, RetryAfter = "1", FailTimes = 1 }), s => s.Model("m", [["p1"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, _) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        var attempts = upstream.RequestsFor("p1");
        Assert.Equal(2, attempts.Count);
        // Backoff in tests is at most 20 ms; only Retry-After explains a wait of about a second.
        Assert.True(Stopwatch.GetElapsedTime(attempts[0].StartedTicks, attempts[1].StartedTicks) >= TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public async Task A_Retry_After_beyond_the_limit_fails_the_call_instead_of_waiting()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Status = 429, RetryAfter = "3600" }), s => s.Model("m", [["p1", "p2"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Single(upstream.RequestsFor("p1"));
        Assert.Contains("HTTP 429", Agent(body, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(FakeReply.ResetBeforeResponse))]
    [InlineData(nameof(FakeReply.BreakAfterFirstToken))]
    [InlineData(nameof(FakeReply.EndWithoutFinish))]
    [InlineData(nameof(FakeReply.ErrorEventAfterFirstToken))]
    public async Task A_proposer_whose_connection_breaks_is_retried_whole(string fault)
    {
        var reply = fault switch
        {
            nameof(FakeReply.ResetBeforeResponse) => new FakeReply { ResetBeforeResponse = true, FailTimes = 1 },
            nameof(FakeReply.BreakAfterFirstToken) => new FakeReply { BreakAfterFirstToken = true, FailTimes = 1 },
            nameof(FakeReply.ErrorEventAfterFirstToken) => new FakeReply { ErrorEventAfterFirstToken = true, FailTimes = 1 },
            _ => new FakeReply { EndWithoutFinish = true, FailTimes = 1 },
        };
        var (upstream, gateway) = await StartAsync(u => u.Reply("p1", reply), s => s.Model("m", [["p1"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(2, Agent(body, 0, 0)["attempts"]!.GetValue<int>());
        Assert.EndsWith("1. answer from p1", Assert.Single(upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_event_inside_a_stream_fails_the_agent_with_the_upstreams_message()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { ErrorEventAfterFirstToken = true, ErrorMessage = "overloaded, try later" }),
            s => s.Model("m", [["p1", "p2"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("failed", Agent(body, 0, 0)["status"]!.GetValue<string>());
        Assert.Contains("error in the stream: overloaded, try later", Agent(body, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_responses_fail_the_agent_without_retries()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("p1", new FakeReply { Malformed = true }), s => s.Model("m", [["p1", "p2"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Single(upstream.RequestsFor("p1"));
        Assert.Contains("unreadable response", Agent(body, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_accepts_and_never_answers_is_cut_at_the_agents_first_token_timeout()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Delay = Timeout.InfiniteTimeSpan }),
            s => s.Model("m", [["p1", "p2"]], "agg").Set("MoaGateway:Models:m:Layers:0:Agents:0:FirstTokenTimeoutSeconds", "0.3"));
        await using var _ = upstream;
        await using var __ = gateway;

        var stopwatch = Stopwatch.StartNew();
        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        var agent = Agent(body, 0, 0);
        Assert.Equal("timed_out", agent["status"]!.GetValue<string>());
        Assert.Equal("fake/p1 sent no first token within 0.3 s.", agent["error"]!.GetValue<string>());
        Assert.Equal(3, agent["attempts"]!.GetValue<int>());
        Assert.Equal(3, upstream.Aborts.Count(a => a.Model == "p1"));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Very_slow_tokens_are_cut_at_the_whole_call_timeout_without_a_retry_after_the_first_token()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", new FakeReply { Text = "slow slow slow", TokenDelay = TimeSpan.FromSeconds(30) }),
            s => s.Model("m", [["p1"]], "agg").Set("MoaGateway:Models:m:Aggregator:TimeoutSeconds", "0.5"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.GatewayTimeout, code);
        Assert.Equal("fake/agg did not answer within 0.5 s.", body["error"]!["message"]!.GetValue<string>());
        Assert.Single(upstream.RequestsFor("agg"));
    }

    [Fact]
    public async Task Too_few_answers_fail_the_request_with_502_naming_the_agents()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Status = 503 }).Reply("p2", new FakeReply { Malformed = true }),
            s => s.Model("m", [["p1", "p2", "p3"]], "agg").Set("MoaGateway:Models:m:Layers:0:MinAgents", "2"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.BadGateway, code);
        var message = body["error"]!["message"]!.GetValue<string>();
        Assert.StartsWith("Proposer layer 1 got 1 answer(s), fewer than the 2 it needs", message, StringComparison.Ordinal);
        Assert.Contains("fake/p1 failed: HTTP 503", message, StringComparison.Ordinal);
        Assert.Contains("fake/p2 failed: unreadable response", message, StringComparison.Ordinal);
        Assert.Empty(upstream.RequestsFor("agg"));
    }

    [Fact]
    public async Task Stragglers_are_cut_after_the_quorum_and_grace_and_left_out_of_the_references()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p3", new FakeReply { Delay = TimeSpan.FromSeconds(60) }),
            s => s.Model("m", [["p1", "p2", "p3"]], "agg")
                .Set("MoaGateway:Models:m:Layers:0:Quorum", "2")
                .Set("MoaGateway:Models:m:Layers:0:StragglerGraceMs", "100"));
        await using var _ = upstream;
        await using var __ = gateway;

        var stopwatch = Stopwatch.StartNew();
        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
        Assert.Equal("cut", Agent(body, 0, 2)["status"]!.GetValue<string>());
        Assert.EndsWith("Responses from models:\n1. answer from p1\n2. answer from p2", Assert.Single(upstream.RequestsFor("agg")).SystemText, StringComparison.Ordinal);
        await Eventually.True(() => upstream.AbortedModels.Contains("p3"));
    }

    [Fact]
    public async Task Without_a_quorum_the_layer_waits_for_its_slowest_agent()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p3", new FakeReply { Delay = TimeSpan.FromMilliseconds(300) }), s => s.Model("m", [["p1", "p2", "p3"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var (_, body) = await AskAsync(gateway, "m");

        Assert.Equal("answered", Agent(body, 0, 2)["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_fallback_aggregator_answers_a_non_streamed_request_when_the_primary_keeps_failing_before_or_after_its_first_token(bool afterFirstToken)
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", afterFirstToken ? new FakeReply { Text = "partial answer", BreakAfterFirstToken = true } : new FakeReply { Status = 500 }),
            WithBackup);
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(FakeUpstream.DefaultText("backup"), body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(3, upstream.RequestsFor("agg").Count);
        var failed = Assert.Single(body["usage"]!["moa"]!["failed_aggregators"]!.AsArray())!;
        Assert.Equal("agg", failed["model"]!.GetValue<string>());
        Assert.Equal(3, failed["attempts"]!.GetValue<int>());
        Assert.Equal("backup", body["usage"]!["moa"]!["aggregator"]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Each_aggregator_fallback_gets_the_clients_options_as_they_were_sent()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", new FakeReply { Status = 500 }),
            s => WithBackup(s).Set("MoaGateway:Models:m:Aggregator:Temperature", "0.1"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, new
        {
            model = "m",
            audio = new { voice = "alloy", format = "wav" },
            top_k = 7,
            messages = new[] { new { role = "user", content = "Hi" } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var backup = Assert.Single(upstream.RequestsFor("backup")).Json;
        Assert.Equal("""{"voice":"alloy","format":"wav"}""", backup["audio"]!.ToJsonString());
        Assert.Equal(7, backup["top_k"]!.GetValue<int>());
        Assert.Null(backup["temperature"]);
        Assert.Equal(0.1, upstream.RequestsFor("agg")[0].Json["temperature"]!.GetValue<double>(), 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Audio_without_voice_is_a_400_before_anything_is_sent_on_a_model_with_aggregator_fallbacks(bool stream)
    {
        // The proposer outlasts the keep-alive, so a streamed response would have begun by the time the aggregator is called.
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Delay = TimeSpan.FromMilliseconds(300) }),
            s => WithBackup(s).Set("MoaGateway:KeepAliveSeconds", "0.05"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, new { model = "m", stream, audio = new { }, messages = new[] { new { role = "user", content = "Hi" } } });
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("audio.voice", JsonNode.Parse(text)!["error"]!["param"]!.GetValue<string>());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_non_streamed_request_retries_an_aggregator_that_breaks_after_its_first_token()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", new FakeReply { Text = "whole answer", BreakAfterFirstToken = true, FailTimes = 1 }), WithBackup);
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, body) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("whole answer", body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(2, body["usage"]!["moa"]!["aggregator"]!["attempts"]!.GetValue<int>());
        Assert.Empty(upstream.RequestsFor("backup"));
    }

    [Fact]
    public async Task No_fallback_and_no_retry_once_the_aggregator_has_sent_a_token()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", new FakeReply { Text = "partial answer", BreakAfterFirstToken = true }),
            s => s.Model("m", [["p1"]], "agg")
                .Set("MoaGateway:Models:m:AggregatorFallbacks:0:Provider", "fake")
                .Set("MoaGateway:Models:m:AggregatorFallbacks:0:Model", "backup"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = "m", stream = true, messages = new[] { new { role = "user", content = "Hi" } } }),
            },
            HttpCompletionOption.ResponseHeadersRead);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal("partial", transcript.Content);
        Assert.NotNull(transcript.BrokenBy);
        Assert.Single(upstream.RequestsFor("agg"));
        Assert.Empty(upstream.RequestsFor("backup"));
    }

    [Fact]
    public async Task The_circuit_opens_for_a_failing_model_and_stops_calls_to_it_but_not_to_the_providers_other_models()
    {
        await using var flaky = await FakeUpstream.StartAsync();
        flaky.Reply("f1", new FakeReply { Status = 503 });
        var (upstream, gateway) = await StartAsync(_ => { }, s => Layer(QuickBreaker(s.Provider("flaky", flaky), "flaky"), "m", "flaky/f1", "flaky/f2"));
        await using var _ = upstream;
        await using var __ = gateway;

        JsonNode last = null!;
        for (var i = 0; i < 6; i++)
        {
            last = (await AskAsync(gateway, "m")).Body;
        }

        Assert.Equal(3, flaky.RequestsFor("f1").Count);
        Assert.StartsWith("flaky/f1: circuit open after repeated failures", Agent(last, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(6, flaky.RequestsFor("f2").Count);
        Assert.Equal("answered", Agent(last, 0, 1)["status"]!.GetValue<string>());
        Assert.Equal(6, upstream.RequestsFor("agg").Count);
    }

    [Fact]
    public async Task Connect_failures_open_the_circuit_for_every_model_of_the_provider()
    {
        var (upstream, gateway) = await StartAsync(_ => { }, s => Layer(Layer(QuickBreaker(s, "gone"), "m1", "gone/a", "fake/p1"), "m2", "gone/b", "fake/p1")
            .Set("MoaGateway:Providers:gone:BaseUrl", $"http://127.0.0.1:{FreePort.Pick()}/v1"));
        await using var _ = upstream;
        await using var __ = gateway;

        for (var i = 0; i < 3; i++)
        {
            var (_, body) = await AskAsync(gateway, "m1");
            Assert.Contains("gone/a failed: connection failed", Agent(body, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var (code, other) = await AskAsync(gateway, "m2");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.StartsWith("gone: circuit open after repeated connection failures", Agent(other, 0, 0)["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failed_mixture_tells_clients_not_to_run_it_again(bool stream)
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("p1", new FakeReply { Status = 503 }), s => s.Model("m", [["p1"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, new { model = "m", stream, messages = new[] { new { role = "user", content = "Hi" } } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
        Assert.Equal(3, upstream.RequestsFor("p1").Count);
    }

    [Fact]
    public async Task The_request_deadline_bounds_the_whole_mixture()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Delay = TimeSpan.FromSeconds(60) }),
            s => s.Model("m", [["p1"]], "agg").Set("MoaGateway:RequestTimeoutSeconds", "0.5"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, new { model = "m", messages = new[] { new { role = "user", content = "Hi" } } });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("The request did not complete within its deadline of 0.5 s.", body["error"]!["message"]!.GetValue<string>());
        Assert.Equal("request_timeout", body["error"]!["code"]!.GetValue<string>());
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
        await Eventually.True(() => upstream.AbortedModels.Contains("p1"));
    }

    [Fact]
    public async Task Excess_concurrent_requests_get_429_with_retry_after()
    {
        var release = new TaskCompletionSource();
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("agg", new FakeReply { HoldAfterFirstToken = release.Task }),
            s => s.Model("m", [["p1"]], "agg").Set("MoaGateway:Limits:MaxConcurrentRequests", "2"));
        await using var _ = upstream;
        await using var __ = gateway;

        var held = Enumerable.Range(0, 2).Select(_ => AskAsync(gateway, "m")).ToList();
        await Eventually.True(() => upstream.RequestsFor("agg").Count == 2);
        using var refused = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "m", messages = new[] { new { role = "user", content = "Hi" } } });

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        Assert.False(refused.Headers.Contains("x-should-retry"), "a refusal at the concurrency cap is worth retrying");
        Assert.Equal("concurrency_limit_exceeded", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        release.SetResult();
        Assert.All(await Task.WhenAll(held), result => Assert.Equal(HttpStatusCode.OK, result.Status));
    }

    [Theory]
    [InlineData(nameof(FakeReply.EndWithoutFinish))]
    [InlineData(nameof(FakeReply.BreakAfterFirstToken))]
    public async Task A_pass_through_stream_cut_short_ends_with_an_error_event_and_a_broken_connection_never_done(string fault)
    {
        var reply = fault == nameof(FakeReply.EndWithoutFinish)
            ? new FakeReply { Text = "partial answer", EndWithoutFinish = true }
            : new FakeReply { Text = "partial answer", BreakAfterFirstToken = true };
        var (upstream, gateway) = await StartAsync(u => u.Reply("solo", reply), s => s.Model("m", [["p1"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, new { model = "fake/solo", stream = true, messages = new[] { new { role = "user", content = "Hi" } } });
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("partial", transcript.Content);
        var error = transcript.AssertCutOff();
        Assert.Equal("upstream_error", error["type"]!.GetValue<string>());
        Assert.StartsWith("fake failed: ", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pass_through_stream_that_ends_without_done_is_a_failure_to_the_official_sdk()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("solo", new FakeReply { Text = "partial answer", EndWithoutFinish = true }), s => s.Model("m", [["p1"]], "agg"));
        await using var _ = upstream;
        await using var __ = gateway;

        var text = "";
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in gateway.ChatClient("fake/solo").CompleteChatStreamingAsync([new OpenAI.Chat.UserChatMessage("Hi")]))
            {
                text += string.Concat(update.ContentUpdate.Select(part => part.Text));
            }
        });

        Assert.Equal("partial", text);
        Assert.NotNull(failure);
    }

    [Fact]
    public async Task A_providers_call_cap_holds_its_own_calls_without_slowing_other_providers()
    {
        await using var slow = await FakeUpstream.StartAsync();
        foreach (var model in new[] { "s1", "s2", "s3" })
        {
            slow.Reply(model, new FakeReply { Delay = TimeSpan.FromMilliseconds(150) });
        }

        var (upstream, gateway) = await StartAsync(u =>
        {
            foreach (var model in (string[])["f1", "f2", "f3"])
            {
                u.Reply(model, new FakeReply { Delay = TimeSpan.FromMilliseconds(150) });
            }
        }, s =>
        {
            s.Provider("slow", slow).Set("MoaGateway:Providers:slow:MaxConcurrentCalls", "1");
            string[] agents = ["slow/s1", "slow/s2", "slow/s3", "fake/f1", "fake/f2", "fake/f3"];
            for (var i = 0; i < agents.Length; i++)
            {
                var (provider, model) = (agents[i].Split('/')[0], agents[i].Split('/')[1]);
                s.Set($"MoaGateway:Models:m:Layers:0:Agents:{i}:Provider", provider).Set($"MoaGateway:Models:m:Layers:0:Agents:{i}:Model", model);
            }

            return s.Set("MoaGateway:Models:m:Aggregator:Provider", "fake").Set("MoaGateway:Models:m:Aggregator:Model", "agg");
        });
        await using var _ = upstream;
        await using var __ = gateway;

        var (code, _) = await AskAsync(gateway, "m");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(1, slow.MaxConcurrentRequests);
        Assert.Equal(3, upstream.MaxConcurrentRequests);
    }
}
