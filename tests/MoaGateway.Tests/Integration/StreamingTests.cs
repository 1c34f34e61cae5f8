using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MoaGateway.Moa;
using MoaGateway.Providers;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>The SSE stream on the wire, read raw, and through the OpenAI SDK where a client's view matters.</summary>
public sealed class StreamingTests
{
    private static async Task<(FakeUpstream Upstream, GatewayHost Gateway)> StartAsync(Action<FakeUpstream>? script = null, string keepAliveSeconds = "2")
    {
        var upstream = await FakeUpstream.StartAsync();
        script?.Invoke(upstream);
        var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("duo", [["p1", "p2"]], "agg")
            .Set("MoaGateway:KeepAliveSeconds", keepAliveSeconds));
        return (upstream, gateway);
    }

    private static Task<HttpResponseMessage> PostStreamAsync(GatewayHost gateway, bool includeUsage = false, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["model"] = "duo",
            ["stream"] = true,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Stream please" }),
        };
        if (includeUsage)
        {
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
        return gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    [Fact]
    public async Task Stream_relays_aggregator_tokens_as_they_arrive()
    {
        var release = new TaskCompletionSource();
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Text = "first second third", HoldAfterFirstToken = release.Task }));
        await using var _ = upstream;
        await using var __ = gateway;

        await using var updates = gateway.ChatClient("duo").CompleteChatStreamingAsync([new UserChatMessage("Hi")]).GetAsyncEnumerator();
        var firstContent = await StreamingUpdates.FirstContentAsync(updates);

        // The aggregator is still holding its second token: the first one reached the client on its own.
        Assert.Equal("first", firstContent);
        Assert.False(release.Task.IsCompleted);

        release.SetResult();
        var rest = await StreamingUpdates.RestAsync(updates);

        Assert.Equal(" second third", rest);
    }

    [Fact]
    public async Task Stream_is_openai_sse_with_role_first_finish_reason_last_then_done()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Text = "one two three" }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostStreamAsync(gateway);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(transcript.BrokenBy);
        Assert.True(transcript.EndedWithDone);
        var events = transcript.JsonEvents;
        Assert.All(events, e =>
        {
            Assert.Equal("chat.completion.chunk", e["object"]!.GetValue<string>());
            Assert.Equal("duo", e["model"]!.GetValue<string>());
            Assert.Equal(events[0]["id"]!.GetValue<string>(), e["id"]!.GetValue<string>());
        });
        Assert.Equal("assistant", events[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Equal("stop", events[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.All(events.Take(events.Count - 1), e => Assert.Null(e["choices"]![0]!["finish_reason"]));
        Assert.Equal("one two three", transcript.Content);
        Assert.DoesNotContain(events, e => e.ContainsKey("usage"));
    }

    [Fact]
    public async Task Include_usage_adds_one_chunk_with_empty_choices_and_the_moa_breakdown_before_done()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostStreamAsync(gateway, includeUsage: true);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.True(transcript.EndedWithDone);
        var events = transcript.JsonEvents;
        var usageChunk = Assert.Single(events, e => e.ContainsKey("usage"));
        Assert.Same(events[^1], usageChunk);
        Assert.Empty(usageChunk["choices"]!.AsArray());
        var usage = usageChunk["usage"]!;
        Assert.Equal(3 * 11, usage["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(3, usage["moa"]!["upstream_calls"]!.GetValue<int>());
        Assert.Equal("agg", usage["moa"]!["aggregator"]!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keep_alive_comments_flow_while_proposers_run()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Delay = TimeSpan.FromMilliseconds(600) }),
            keepAliveSeconds: "0.1");
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostStreamAsync(gateway);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.True(transcript.EndedWithDone);
        var firstData = transcript.Lines.ToList().FindIndex(l => l.StartsWith("data: ", StringComparison.Ordinal));
        var commentsBeforeData = transcript.Lines.Take(firstData).Where(l => l.StartsWith(": ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(commentsBeforeData);
        Assert.Contains(commentsBeforeData, c => c.Contains("proposer layer 1 of 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Aggregator_failing_mid_stream_ends_with_an_error_event_and_a_broken_connection_never_done()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Text = "partial answer here", BreakAfterFirstToken = true }));
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostStreamAsync(gateway);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.False(transcript.EndedWithDone);
        Assert.True(transcript.BrokenBy is not null, string.Join("\n", transcript.Lines));
        Assert.Equal("partial", transcript.Content);
        var error = transcript.JsonEvents[^1]["error"]!;
        Assert.Equal("upstream_error", error["type"]!.GetValue<string>());
        Assert.Contains("fake/agg", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_client_sees_a_mid_stream_failure_as_an_exception_not_a_short_answer()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Text = "partial answer here", BreakAfterFirstToken = true }));
        await using var _ = upstream;
        await using var __ = gateway;

        var received = "";
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in gateway.ChatClient("duo").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
            {
                received += string.Concat(update.ContentUpdate.Select(p => p.Text));
            }
        });

        Assert.NotNull(failure);
        Assert.True("partial" == received, failure.ToString());
    }

    [Fact]
    public async Task Aggregator_failing_before_its_first_token_gives_a_502_when_nothing_was_sent_yet()
    {
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Status = 500 }));
        await using var _ = upstream;
        await using var __ = gateway;

        var error = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var __ in gateway.ChatClient("duo").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
            {
            }
        });

        Assert.Equal(502, error.Status);
        Assert.Contains("HTTP 500", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripted failure of agg", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aggregator_failing_after_keep_alives_started_sends_an_error_event_and_breaks_the_connection()
    {
        var (upstream, gateway) = await StartAsync(
            u => u.Reply("p1", new FakeReply { Delay = TimeSpan.FromMilliseconds(400) }).Reply("agg", new FakeReply { Status = 503 }),
            keepAliveSeconds: "0.05");
        await using var _ = upstream;
        await using var __ = gateway;

        using var response = await PostStreamAsync(gateway);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(transcript.Comments.Count > 0 && transcript.JsonEvents.Count == 1, string.Join("\n", transcript.Lines) + transcript.BrokenBy);
        Assert.False(transcript.EndedWithDone);
        Assert.NotNull(transcript.BrokenBy);
        Assert.Contains("HTTP 503", transcript.JsonEvents.Single()["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_disconnect_cancels_the_aggregator_call_upstream()
    {
        var never = new TaskCompletionSource();
        var (upstream, gateway) = await StartAsync(u => u.Reply("agg", new FakeReply { Text = "a b c", HoldAfterFirstToken = never.Task }));
        await using var _ = upstream;
        await using var __ = gateway;

        using (var response = await PostStreamAsync(gateway))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line && !line.Contains("\"content\":\"a\"", StringComparison.Ordinal))
            {
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!upstream.AbortedModels.Contains("agg") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Contains("agg", upstream.AbortedModels);
    }

    [Fact]
    public async Task An_unexpected_failure_after_the_stream_began_ends_it_with_an_error_event_and_a_broken_connection_and_is_logged_once()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var logs = new CapturedLogs();
        await using var gateway = await GatewayHost.StartAsync(
            new GatewaySettings().Provider("fake", upstream).Model("duo", [["p1", "p2"]], "agg"),
            // The logger factory itself, whatever logging library the gateway sets up, so every event reaches the capture.
            services => services
                .AddSingleton<ILoggerFactory>(_ => new LoggerFactory([logs]))
                .AddSingleton<Func<ProviderRegistry, IAgentInvoker>>(_ => providers => new DefectAfterFirstAggregatorDelta(new OpenAiAgentInvoker(providers))));

        using var response = await PostStreamAsync(gateway);
        var transcript = await SseTranscript.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answer", transcript.Content);
        var error = transcript.AssertCutOff();
        Assert.Equal("server_error", error["type"]!.GetValue<string>());
        Assert.Equal("internal_error", error["code"]!.GetValue<string>());
        Assert.DoesNotContain(DefectAfterFirstAggregatorDelta.Message, error.ToJsonString(), StringComparison.Ordinal);
        var logged = Assert.Single(logs.Entries, entry => entry.Level >= LogLevel.Error);
        Assert.Equal(DefectAfterFirstAggregatorDelta.Message, logged.Exception?.Message);
    }

    /// <summary>The real invoker, with a defect of the gateway's own (no provider failure) after the aggregator's first delta.</summary>
    private sealed class DefectAfterFirstAggregatorDelta(IAgentInvoker invoker) : IAgentInvoker
    {
        public const string Message = "a defect injected after the first delta";

        public Task<AgentAnswer> CompleteAsync(AgentSpec agent, IReadOnlyList<ChatMessage> messages, CallProgress progress, CancellationToken cancellationToken) =>
            invoker.CompleteAsync(agent, messages, progress, cancellationToken);

        public async IAsyncEnumerable<ChatDelta> StreamAsync(
            AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var delta in invoker.StreamAsync(agent, messages, options, progress, cancellationToken))
            {
                yield return delta;
                throw new InvalidOperationException(Message);
            }
        }

        public Task<IReadOnlyList<ChatDelta>> CollectAsync(
            AgentSpec agent, IReadOnlyList<ChatMessage> messages, ChatCompletionOptions options, CallProgress progress, CancellationToken cancellationToken) =>
            invoker.CollectAsync(agent, messages, options, progress, cancellationToken);
    }
}
