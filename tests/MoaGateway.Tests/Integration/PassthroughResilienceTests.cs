using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>Pass-through on the same road to a provider as an agent call: slots, timeouts, retries, breaker, drain, metrics, spans, headers.</summary>
public sealed class PassthroughResilienceTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentQueue<(string Model, string ErrorType)> _errors = new();
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();

    public PassthroughResilienceTests()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MoaGateway",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_activities);
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "MoaGateway" && instrument.Name == "moa.upstream.errors")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var all = tags.ToArray().ToDictionary(tag => tag.Key, tag => tag.Value?.ToString());
            _errors.Enqueue((all["gen_ai.request.model"]!, all["error.type"]!));
        });
        _meters.Start();
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";

    private static async Task<(FakeUpstream Upstream, GatewayHost Gateway)> StartAsync(
        Action<FakeUpstream> script, Func<GatewaySettings, GatewaySettings>? configure = null)
    {
        var upstream = await FakeUpstream.StartAsync();
        script(upstream);
        var settings = new GatewaySettings().Provider("fake", upstream).Model("m", [["p1"]], "agg");
        return (upstream, await GatewayHost.StartAsync(configure?.Invoke(settings) ?? settings));
    }

    private static Task<HttpResponseMessage> PostAsync(GatewayHost gateway, string model, bool stream = false) => gateway.Http.SendAsync(
        new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "Hi" } } }),
        },
        HttpCompletionOption.ResponseHeadersRead);

    private static async Task<JsonNode> ErrorOf(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

    [Fact]
    public async Task A_503_before_the_answer_is_retried_and_the_client_sees_only_the_retrys_200()
    {
        var model = Unique("solo");
        var (upstream, gateway) = await StartAsync(u => u.Reply(model, new FakeReply { Status = 503, FailTimes = 1 }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, $"fake/{model}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeUpstream.DefaultText(model),
            JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(2, upstream.RequestsFor(model).Count);
        Assert.Equal(upstream.RequestsFor(model)[0].Body, upstream.RequestsFor(model)[1].Body);
        Assert.Contains((model, "http_503"), _errors);
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_waited_out_before_the_retry()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("solo", new FakeReply { Status = 429, RetryAfter = "1", FailTimes = 1 }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/solo");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var attempts = upstream.RequestsFor("solo");
        Assert.Equal(2, attempts.Count);
        // Backoff in tests is at most 20 ms; only Retry-After explains a wait of about a second.
        Assert.True(Stopwatch.GetElapsedTime(attempts[0].StartedTicks, attempts[1].StartedTicks) >= TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public async Task The_last_failed_answer_is_relayed_as_the_provider_sent_it_once_retries_are_spent()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("solo", new FakeReply { Status = 503 }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/solo");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("scripted failure of solo", (await ErrorOf(response))["message"]!.GetValue<string>());
        Assert.Equal(3, upstream.RequestsFor("solo").Count);
    }

    [Fact]
    public async Task Nothing_is_retried_once_the_stream_has_started()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("solo", new FakeReply { Text = "partial answer", BreakAfterFirstToken = true }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/solo", stream: true);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal("partial", transcript.Content);
        Assert.Equal("upstream_error", transcript.AssertCutOff()["type"]!.GetValue<string>());
        Assert.Single(upstream.RequestsFor("solo"));
    }

    [Fact]
    public async Task No_response_within_the_first_byte_timeout_is_retried_then_a_504_naming_the_provider()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("slow", new FakeReply { Delay = TimeSpan.FromSeconds(30) }),
            s => s.Set("MoaGateway:Providers:fake:FirstTokenTimeoutSeconds", "0.3").Set("MoaGateway:Providers:fake:Retry:MaxRetries", "1"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/slow", stream: true);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("upstream_timeout", error["code"]!.GetValue<string>());
        Assert.Equal("fake sent no response within 0.3 s.", error["message"]!.GetValue<string>());
        Assert.Equal(2, upstream.RequestsFor("slow").Count);
    }

    [Fact]
    public async Task A_call_slot_is_held_for_the_whole_forward_so_a_second_call_waits_for_it()
    {
        var release = new TaskCompletionSource();
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("solo", new FakeReply { Text = "one two", HoldAfterFirstToken = release.Task }),
            s => s.Set("MoaGateway:Providers:fake:MaxConcurrentCalls", "1"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var first = await PostAsync(gateway, "fake/solo", stream: true);
        var firstReading = SseTranscript.ReadAsync(first);
        await Eventually.True(() => upstream.RequestsFor("solo").Count == 1);
        var second = PostAsync(gateway, "fake/solo", stream: true);
        await Task.Delay(300);

        Assert.Single(upstream.RequestsFor("solo"));
        release.SetResult();
        using var secondResponse = await second;
        var transcripts = await Task.WhenAll(firstReading, SseTranscript.ReadAsync(secondResponse));

        Assert.All(transcripts, transcript => Assert.True(transcript.EndedWithDone));
        Assert.Equal(1, upstream.MaxConcurrentRequests);
    }

    [Fact]
    public async Task Repeated_failures_open_the_circuit_and_later_calls_fail_fast_without_reaching_the_provider()
    {
        var model = Unique("flaky");
        var (upstream, gateway) = await StartAsync(
            u => u.Reply(model, new FakeReply { Status = 503 }),
            s => s.Set("MoaGateway:Providers:fake:Retry:MaxRetries", "0")
                .Set("MoaGateway:Providers:fake:CircuitBreaker:MinimumThroughput", "3")
                .Set("MoaGateway:Providers:fake:CircuitBreaker:BreakSeconds", "60"));
        await using var _ = upstream;
        await using var __ = gateway;

        for (var i = 0; i < 3; i++)
        {
            using var failed = await PostAsync(gateway, $"fake/{model}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        using var response = await PostAsync(gateway, $"fake/{model}");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.StartsWith($"fake/{model}: circuit open after repeated failures", (await ErrorOf(response))["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(3, upstream.RequestsFor(model).Count);
        Assert.Contains((model, "circuit_open"), _errors);
    }

    [Fact]
    public async Task A_stream_still_running_when_the_drain_ends_gets_an_error_event_and_a_broken_connection()
    {
        var never = new TaskCompletionSource();
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("solo", new FakeReply { Text = "never finished", HoldAfterFirstToken = never.Task }),
            s => s.Set("MoaGateway:ShutdownDrainSeconds", "0.3"));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/solo", stream: true);
        var reading = SseTranscript.ReadAsync(response);
        await Eventually.True(() => upstream.RequestsFor("solo").Count == 1);

        await gateway.StopAsync();
        var transcript = await reading;

        Assert.Equal("never", transcript.Content);
        Assert.Equal("server_shutting_down", transcript.AssertCutOff()["code"]!.GetValue<string>());
        await Eventually.True(() => upstream.AbortedModels.Contains("solo"));
    }

    [Fact]
    public async Task A_forward_is_a_client_span_with_its_provider_model_status_and_attempts()
    {
        var model = Unique("traced");
        var (upstream, gateway) = await StartAsync(u => u.Reply(model, new FakeReply { Status = 500, FailTimes = 1 }));
        await using var _ = upstream;
        await using var __ = gateway;

        using (var response = await PostAsync(gateway, $"fake/{model}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.True(() => _spans.Any(s => s.DisplayName == $"chat {model}"));
        var span = _spans.Single(s => s.DisplayName == $"chat {model}");
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("fake", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(model, span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(true, span.GetTagItem("moa.passthrough"));
        Assert.Equal(200, span.GetTagItem("http.response.status_code"));
        Assert.Equal(2, span.GetTagItem("moa.attempts"));
        Assert.DoesNotContain(span.Tags, tag => tag.Value?.Contains("sk-", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_failed_forward_is_counted_and_its_span_carries_the_error_type()
    {
        var model = Unique("cut");
        var (upstream, gateway) = await StartAsync(u => u.Reply(model, new FakeReply { Text = "partial answer", EndWithoutFinish = true }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, $"fake/{model}", stream: true);
        await SseTranscript.ReadAsync(response);

        await Eventually.True(() => _spans.Any(s => s.DisplayName == $"chat {model}"));
        var span = _spans.Single(s => s.DisplayName == $"chat {model}");
        Assert.Equal("truncated", span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Contains((model, "truncated"), _errors);
    }

    [Fact]
    public async Task The_clients_credentials_and_cookies_never_reach_the_provider_but_its_accept_does()
    {
        var (upstream, gateway) = await StartAsync(_ => { });
        await using var _ = upstream;
        await using var __ = gateway;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "fake/solo", messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Authorization = new("Bearer", "client-secret");
        request.Headers.Add("Cookie", "session=client-secret");
        request.Headers.Add("x-api-key", "client-secret");
        request.Headers.Add("api-key", "client-secret");
        request.Headers.Add("Proxy-Authorization", "Basic client-secret");
        request.Headers.Add("Accept", "application/json");

        using var response = await gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(upstream.Requests);
        Assert.DoesNotContain(received.Headers, header => header.Value.Contains("client-secret", StringComparison.Ordinal));
        Assert.StartsWith("Bearer sk-upstream-", received.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal("application/json", received.Header("Accept"));
    }

    [Theory]
    [InlineData("fake/solo")]
    [InlineData("m")]
    public async Task A_keyless_provider_gets_no_authorization_from_pass_through_or_agent_calls(string model)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Set("MoaGateway:Providers:fake:BaseUrl", upstream.BaseUrl)
            .Set("MoaGateway:Providers:fake:Headers:X-Team", "search")
            .Model("m", [["p1"]], "agg"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Authorization = new("Bearer", "client-secret");

        using var response = await gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(upstream.Requests);
        Assert.All(upstream.Requests, received =>
        {
            Assert.Null(received.Header("Authorization"));
            Assert.Equal("search", received.Header("X-Team"));
        });
    }

    [Fact]
    public async Task A_providers_cors_and_cookies_are_not_relayed()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("solo", new FakeReply
        {
            Headers = new Dictionary<string, string>
            {
                ["Access-Control-Allow-Origin"] = "*",
                ["Access-Control-Allow-Credentials"] = "true",
                ["Set-Cookie"] = "provider-session=1; Path=/",
                ["x-ratelimit-remaining-requests"] = "99",
            },
        }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostAsync(gateway, "fake/solo");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, header => header.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Equal("99", Assert.Single(response.Headers.GetValues("x-ratelimit-remaining-requests")));
    }
}
