using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The Responses API's event stream on the wire, read raw: order, numbering, ids, tool call items and endings.</summary>
public sealed class ResponsesStreamTests : GatewayTest
{
    private static readonly string[] TextSequence =
    [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ];

    /// <summary>Keep-alive comments every 0.1 s, so that a stream that waits on its proposers shows them.</summary>
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Set("MoaGateway:KeepAliveSeconds", "0.1");

    private static Task<HttpResponseMessage> PostStreamAsync(HttpClient http, CancellationToken cancellationToken = default) =>
        http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
            {
                Content = JsonContent.Create(new { model = "duo", stream = true, input = "Stream please" }),
            },
            HttpCompletionOption.ResponseHeadersRead,
            cancellationToken);

    private async Task<SseTranscript> StreamAsync()
    {
        using var response = await PostStreamAsync(Gateway.Http);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return await SseTranscript.ReadAsync(response);
    }

    private static string[] Types(SseTranscript transcript) => [.. transcript.JsonEvents.Select(e => e["type"]!.GetValue<string>())];

    /// <summary>
    /// The rules every stream must keep, whatever it carries: sequence numbers 0, 1, 2... with each event's <c>event:</c>
    /// line naming its type; created and in_progress first; every event about an item or a content part after that
    /// item or part was added and before it was done, with the item's own output index; items numbered 0, 1, 2... in order.
    /// </summary>
    internal static void AssertWellFormed(SseTranscript transcript)
    {
        var events = transcript.JsonEvents;
        var names = transcript.Lines.Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l[7..]).ToList();
        Assert.Equal(Types(transcript), names);
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e["sequence_number"]!.GetValue<int>()));
        Assert.Equal(["response.created", "response.in_progress"], Types(transcript).Take(2));
        Assert.DoesNotContain("[DONE]", transcript.DataPayloads);

        var added = 0;
        var openItems = new Dictionary<string, int>();
        var openParts = new HashSet<(string, int)>();
        var responseId = events[0]["response"]!["id"]!.GetValue<string>();
        foreach (var e in events)
        {
            var type = e["type"]!.GetValue<string>();
            if (e["response"] is JsonObject response)
            {
                Assert.Equal(responseId, response["id"]!.GetValue<string>());
            }

            switch (type)
            {
                case "response.output_item.added":
                    Assert.Equal(added++, e["output_index"]!.GetValue<int>());
                    openItems.Add(e["item"]!["id"]!.GetValue<string>(), e["output_index"]!.GetValue<int>());
                    continue;
                case "response.output_item.done":
                    Assert.True(openItems.Remove(e["item"]!["id"]!.GetValue<string>()), $"done for an item not open: {e}");
                    continue;
            }

            if (e["item_id"]?.GetValue<string>() is { } itemId)
            {
                Assert.True(openItems.TryGetValue(itemId, out var outputIndex), $"{type} for an item not open: {e}");
                Assert.Equal(outputIndex, e["output_index"]!.GetValue<int>());
                if (e["content_index"]?.GetValue<int>() is { } contentIndex)
                {
                    var part = (itemId, contentIndex);
                    if (type == "response.content_part.added")
                    {
                        Assert.True(openParts.Add(part), $"part added twice: {e}");
                    }
                    else if (type == "response.content_part.done")
                    {
                        Assert.True(openParts.Remove(part), $"done for a part not open: {e}");
                    }
                    else
                    {
                        Assert.True(openParts.Contains(part), $"{type} for a part not open: {e}");
                    }
                }
            }
        }

        Assert.Empty(openItems);
        Assert.Empty(openParts);
    }

    [Fact]
    public async Task Text_answer_streams_the_full_event_sequence_with_rising_sequence_numbers_then_completed_with_usage()
    {
        Upstream.Reply("agg", new FakeReply { Text = "one two three" });

        var transcript = await StreamAsync();

        Assert.Null(transcript.BrokenBy);
        Assert.Equal(TextSequence, Types(transcript));
        AssertWellFormed(transcript);
        var events = transcript.JsonEvents;
        Assert.Equal("in_progress", events[0]["response"]!["status"]!.GetValue<string>());
        Assert.Empty(events[0]["response"]!["output"]!.AsArray());
        var deltas = events.Where(e => e["type"]!.GetValue<string>() == "response.output_text.delta").Select(e => e["delta"]!.GetValue<string>());
        Assert.Equal(["one", " two", " three"], deltas);
        Assert.Equal("one two three", events.Single(e => e["type"]!.GetValue<string>() == "response.output_text.done")["text"]!.GetValue<string>());
        var completed = events[^1]["response"]!;
        Assert.Equal("completed", completed["status"]!.GetValue<string>());
        Assert.Equal("one two three", completed["output"]![0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("completed", completed["output"]![0]!["status"]!.GetValue<string>());
        Assert.Equal(3 * 11, completed["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(3, completed["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task Tool_calls_stream_in_their_own_items_with_argument_deltas_after_the_text_message_is_done()
    {
        Upstream.Reply("agg", new FakeReply
        {
            EventStream = ChatChunks.Stream(
                "tool_calls",
                ChatChunks.Content("Checking both."),
                ChatChunks.ToolCallStart(0, "call_a", "get_weather", "{\"city\":"),
                ChatChunks.ToolCallArguments(0, "\"Paris\"}"),
                ChatChunks.ToolCallStart(1, "call_b", "get_weather", "{\"city\":\"Oslo\"}")),
        });

        var transcript = await StreamAsync();

        AssertWellFormed(transcript);
        Assert.Equal(
        [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.output_item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done",
            "response.function_call_arguments.done", "response.output_item.done",
            "response.completed",
        ], Types(transcript));
        var events = transcript.JsonEvents;
        var calls = events.Where(e => e["type"]!.GetValue<string>() == "response.output_item.added" && e["item"]!["type"]!.GetValue<string>() == "function_call").ToList();
        Assert.Equal([1, 2], calls.Select(c => c["output_index"]!.GetValue<int>()));
        Assert.Equal(["call_a", "call_b"], calls.Select(c => c["item"]!["call_id"]!.GetValue<string>()));
        Assert.All(calls, c => Assert.StartsWith("fc_", c["item"]!["id"]!.GetValue<string>(), StringComparison.Ordinal));
        var argumentsDone = events.Where(e => e["type"]!.GetValue<string>() == "response.function_call_arguments.done").ToList();
        Assert.Equal(["{\"city\":\"Paris\"}", "{\"city\":\"Oslo\"}"], argumentsDone.Select(e => e["arguments"]!.GetValue<string>()));
        Assert.All(argumentsDone, e => Assert.Equal("get_weather", e["name"]!.GetValue<string>()));
        var output = events[^1]["response"]!["output"]!.AsArray();
        Assert.Equal(["message", "function_call", "function_call"], output.Select(item => item!["type"]!.GetValue<string>()));
        Assert.Equal("{\"city\":\"Paris\"}", output[1]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_refusal_streams_in_a_refusal_part_of_the_message()
    {
        Upstream.Reply("agg", new FakeReply { EventStream = ChatChunks.Stream("stop", new { refusal = "I can't" }, new { refusal = " help with that." }) });

        var transcript = await StreamAsync();

        AssertWellFormed(transcript);
        Assert.Equal(
        [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.refusal.delta", "response.refusal.delta", "response.refusal.done", "response.content_part.done",
            "response.output_item.done", "response.completed",
        ], Types(transcript));
        var part = transcript.JsonEvents[^1]["response"]!["output"]![0]!["content"]![0]!;
        Assert.Equal("refusal", part["type"]!.GetValue<string>());
        Assert.Equal("I can't help with that.", part["refusal"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keep_alive_comments_flow_while_proposers_run_before_the_first_event()
    {
        Upstream.Reply("p1", new FakeReply { Delay = TimeSpan.FromMilliseconds(600) });

        var transcript = await StreamAsync();

        Assert.Equal("response.completed", Types(transcript)[^1]);
        var firstEvent = transcript.Lines.ToList().FindIndex(l => l.StartsWith("event: ", StringComparison.Ordinal));
        Assert.Contains(transcript.Lines.Take(firstEvent), line => line.StartsWith(": moa: proposer layer 1 of 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Aggregator_failing_mid_stream_ends_with_response_failed_then_a_broken_connection_never_completed()
    {
        Upstream.Reply("agg", new FakeReply { Text = "partial answer here", BreakAfterFirstToken = true });

        var transcript = await StreamAsync();

        Assert.True(transcript.BrokenBy is not null, string.Join("\n", transcript.Lines));
        Assert.DoesNotContain("response.completed", Types(transcript));
        var failed = transcript.JsonEvents[^1];
        Assert.Equal("response.failed", failed["type"]!.GetValue<string>());
        var response = failed["response"]!;
        Assert.Equal("failed", response["status"]!.GetValue<string>());
        Assert.Equal("upstream_error", response["error"]!["code"]!.GetValue<string>());
        Assert.Equal("upstream_error", response["error"]!["type"]!.GetValue<string>());
        Assert.Contains("fake/agg", response["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("partial", response["output"]![0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("incomplete", response["output"]![0]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Aggregator_stopping_on_its_token_limit_ends_with_response_incomplete()
    {
        Upstream.Reply("agg", new FakeReply
        {
            EventStream = ChatChunks.Stream("length", ChatChunks.Content("cut"), ChatChunks.Content(" short")),
        });

        var transcript = await StreamAsync();

        Assert.Null(transcript.BrokenBy);
        AssertWellFormed(transcript);
        var last = transcript.JsonEvents[^1];
        Assert.Equal("response.incomplete", last["type"]!.GetValue<string>());
        Assert.Equal("incomplete", last["response"]!["status"]!.GetValue<string>());
        Assert.Equal("max_output_tokens", last["response"]!["incomplete_details"]!["reason"]!.GetValue<string>());
        Assert.Equal("incomplete", last["response"]!["output"]![0]!["status"]!.GetValue<string>());
        Assert.Equal("cut short", last["response"]!["output_text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Aggregator_failing_before_anything_was_sent_is_a_plain_502_in_openais_envelope()
    {
        Upstream.Reply("agg", new FakeReply { Status = 500 });

        using var response = await PostStreamAsync(Gateway.Http);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("upstream_error", error["type"]!.GetValue<string>());
        Assert.Contains("scripted failure of agg", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("proposers")]
    [InlineData("aggregator")]
    public async Task Client_going_away_cancels_the_upstream_calls_in_flight(string stage)
    {
        var never = new TaskCompletionSource();
        if (stage == "proposers")
        {
            Upstream.Reply("p1", new FakeReply { Delay = Timeout.InfiniteTimeSpan }).Reply("p2", new FakeReply { Delay = Timeout.InfiniteTimeSpan });
        }
        else
        {
            Upstream.Reply("agg", new FakeReply { Text = "first rest", HoldAfterFirstToken = never.Task });
        }

        string[] hung = stage == "proposers" ? ["p1", "p2"] : ["agg"];
        // No draining of an abandoned response: the client is gone.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = Gateway.BaseAddress };
        using var cancel = new CancellationTokenSource();

        var sending = PostStreamAsync(client, cancel.Token);
        await Eventually.True(() => hung.All(model => Upstream.RequestsFor(model).Count == 1));
        if (stage == "aggregator")
        {
            using var response = await sending;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            while (await reader.ReadLineAsync(cancel.Token) is { } line && !line.Contains("response.output_text.delta", StringComparison.Ordinal))
            {
            }
        }

        await cancel.CancelAsync();
        await Record.ExceptionAsync(() => sending);

        await Eventually.True(() => hung.All(model => Upstream.AbortedModels.Contains(model)));
        if (stage == "proposers")
        {
            Assert.Empty(Upstream.RequestsFor("agg"));
        }
    }
}
