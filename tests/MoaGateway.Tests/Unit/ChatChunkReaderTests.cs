using System.Text;
using System.Text.Json;
using MoaGateway.Moa;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Tests.Unit;

public sealed class ChatChunkReaderTests
{
    /// <summary>What OpenAI sends for "Hello, world" with <c>stream_options.include_usage</c>, ending with [DONE].</summary>
    private static readonly string[] TypicalEvents =
    [
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"lo"},"logprobs":null,"finish_reason":null}],"usage":null}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":", world"},"logprobs":null,"finish_reason":null}],"usage":null}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}""",
        "[DONE]",
    ];

    private static readonly ChatDelta[] TypicalDeltas =
    [
        new(Content: ""),
        new(Content: "Hel"),
        new(Content: "lo"),
        new(Content: ", world"),
        new(FinishReason: "stop"),
        new(Usage: new TokenCounts(12, 3)),
    ];

    private static readonly ChatDelta[] HelloDeltas = [new(Content: "Hello"), new(FinishReason: "stop")];

    // ---- A whole stream ----

    [Fact]
    public async Task A_typical_stream_yields_the_content_then_the_finish_reason_then_the_usage_and_then_null()
    {
        using var stream = Utf8Stream(Sse("\n", TypicalEvents));
        await using var reader = new ChatChunkReader(stream);

        foreach (var expected in TypicalDeltas)
        {
            Assert.Equal(expected, await reader.ReadAsync(CancellationToken.None));
        }

        Assert.Null(await reader.ReadAsync(CancellationToken.None));
        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Events_after_DONE_are_never_read()
    {
        var text = Sse("\n", ContentEvent("before"), "[DONE]", ContentEvent("after"), "this is not JSON");

        Assert.Equal([new ChatDelta(Content: "before")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task A_DONE_without_the_trailing_blank_line_still_ends_the_stream()
    {
        var text = "data: " + ContentEvent("only") + "\n\ndata: [DONE]";

        Assert.Equal([new ChatDelta(Content: "only")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task A_stream_that_closes_without_DONE_ends_after_its_last_complete_event()
    {
        var text = Sse("\n", ContentEvent("a"), ContentEvent("b"));

        Assert.Equal([new ChatDelta(Content: "a"), new ChatDelta(Content: "b")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task A_final_event_without_the_trailing_blank_line_is_still_delivered()
    {
        var text = "data: " + ContentEvent("a") + "\n\ndata: " + ContentEvent("last") + "\n";

        Assert.Equal([new ChatDelta(Content: "a"), new ChatDelta(Content: "last")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task An_empty_stream_yields_null()
    {
        await using var reader = new ChatChunkReader(new MemoryStream());

        Assert.Null(await reader.ReadAsync(CancellationToken.None));
        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    // ---- Lines and fields ----

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task Lines_ending_in_LF_CRLF_or_a_lone_CR_are_all_understood(string newline)
    {
        Assert.Equal(TypicalDeltas, await ReadAllAsync(Utf8Stream(Sse(newline, TypicalEvents))));
    }

    [Fact]
    public async Task Comments_and_event_id_and_retry_fields_are_ignored()
    {
        var text =
            ": keep-alive\n\n" +
            "retry: 3000\n" +
            "event: message\n" +
            "id: 17\n" +
            ": data: " + ContentEvent("in a comment") + "\n" +
            "data: " + ContentEvent("Hello") + "\n" +
            "id: 18\n" +
            "\n" +
            ": OPENROUTER PROCESSING\n" +
            "\n" +
            "data : " + ContentEvent("space before the colon makes another field") + "\n" +
            "database: " + ContentEvent("a longer field name is another field") + "\n" +
            "event: message\n" +
            "\n" +
            "data: " + FinishEvent("stop") + "\n\n" +
            ": bye\n\n" +
            "data: [DONE]\n\n";

        Assert.Equal(HelloDeltas, await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task A_data_field_without_a_space_after_the_colon_is_read()
    {
        var text = "data:" + ContentEvent("Hello") + "\n\ndata:" + FinishEvent("stop") + "\n\ndata:[DONE]\n\n";

        Assert.Equal(HelloDeltas, await ReadAllAsync(Utf8Stream(text)));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task A_data_field_spread_over_two_lines_is_one_event(string newline)
    {
        var text =
            """data: {"choices":[{"index":0,"delta":{"content":"a"}""" + newline +
            """data: ,"finish_reason":"stop"}]}""" + newline + newline +
            "data: [DONE]" + newline + newline;

        Assert.Equal([new ChatDelta(Content: "a", FinishReason: "stop")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task A_CRLF_split_between_two_reads_ends_one_line_not_two()
    {
        // Read one byte at a time, the CR of the first data line arrives alone; taken for a whole line ending, the LF
        // after it would be a blank line and cut the event after its first data line.
        var text =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}\r\n" +
            "data: ,\"finish_reason\":\"stop\"}]}\r\n\r\n" +
            "data: [DONE]\r\n\r\n";

        var deltas = await ReadAllAsync(new ScriptedStream(Encoding.UTF8.GetBytes(text), 1));

        Assert.Equal([new ChatDelta(Content: "a", FinishReason: "stop")], deltas);
    }

    [Fact]
    public async Task A_null_error_property_is_no_error()
    {
        var text = Sse("\n", ["""{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}],"error":null}"""]);

        Assert.Equal([new ChatDelta(Content: "a", FinishReason: "stop")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task Data_lines_are_joined_with_a_newline_not_run_together()
    {
        // Run together these would read "prompt_tokens":12; with the newline between them the number is followed by
        // another number, which is not JSON.
        var text = "data: {\"usage\":{\"prompt_tokens\":1\ndata: 2,\"completion_tokens\":3}}\n\n";

        await Assert.ThrowsAnyAsync<JsonException>(() => ReadAllAsync(Utf8Stream(text)));
    }

    // ---- Reads that split or batch events ----

    [Theory]
    [InlineData(1, "\n")]
    [InlineData(7, "\n")]
    [InlineData(1, "\r\n")]
    [InlineData(7, "\r\n")]
    [InlineData(1, "\r")]
    [InlineData(7, "\r")]
    public async Task A_stream_delivered_in_tiny_pieces_yields_the_same_deltas(int bytesPerRead, string newline)
    {
        var stream = new ScriptedStream(Encoding.UTF8.GetBytes(Sse(newline, TypicalEvents)), bytesPerRead);

        Assert.Equal(TypicalDeltas, await ReadAllAsync(stream));
        Assert.True(stream.Reads > TypicalEvents.Length, $"only {stream.Reads} reads: the stream was not delivered in pieces");
    }

    [Fact]
    public async Task Multibyte_characters_split_across_reads_are_decoded_whole()
    {
        var text = Sse("\n", """{"choices":[{"index":0,"delta":{"content":"héllo wörld 🌍 日本"}}]}""", "[DONE]");

        var deltas = await ReadAllAsync(new ScriptedStream(Encoding.UTF8.GetBytes(text), 1));

        Assert.Equal([new ChatDelta(Content: "héllo wörld 🌍 日本")], deltas);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(int.MaxValue)]
    public async Task An_event_larger_than_the_read_buffers_is_read_whole(int bytesPerRead)
    {
        var longText = string.Concat(Enumerable.Range(0, 4000).Select(i => $"{i % 10}abcd"));
        var text = Sse("\n", ContentEvent("first"), ContentEvent(longText), ContentEvent("last"), "[DONE]");

        var deltas = await ReadAllAsync(new ScriptedStream(Encoding.UTF8.GetBytes(text), bytesPerRead));

        Assert.Equal([new ChatDelta(Content: "first"), new ChatDelta(Content: longText), new ChatDelta(Content: "last")], deltas);
    }

    [Fact]
    public async Task Several_events_in_one_read_are_all_returned_without_waiting_for_more_data()
    {
        var firstRead = Encoding.UTF8.GetBytes(Sse("\n", ContentEvent("a"), ContentEvent("b"), ContentEvent("c")));
        var stream = new ScriptedStream(firstRead, int.MaxValue, stallAtEnd: true);
        await using var reader = new ChatChunkReader(stream);

        // The stream never answers a second read: a reader that waited for more data would be cancelled here.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(new ChatDelta(Content: "a"), await reader.ReadAsync(timeout.Token));
        Assert.Equal(new ChatDelta(Content: "b"), await reader.ReadAsync(timeout.Token));
        Assert.Equal(new ChatDelta(Content: "c"), await reader.ReadAsync(timeout.Token));
        Assert.Equal(1, stream.Reads);

        // With every event returned, the next read waits for the stream rather than reporting the end.
        using var cancel = new CancellationTokenSource();
        var next = reader.ReadAsync(cancel.Token);
        Assert.False(next.IsCompleted, "the reader reported a result without data from the stream");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
    }

    // ---- What a chunk carries ----

    [Theory]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}],"usage":null}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":null,"refusal":null,"tool_calls":null,"function_call":null}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"tool_calls":[]}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":null,"finish_reason":null}]}""")]
    [InlineData("""{"choices":[],"usage":null}""")]
    [InlineData("""{"choices":null}""")]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion.chunk"}""")]
    [InlineData("{}")]
    public async Task Chunks_that_carry_nothing_are_skipped(string chunk)
    {
        var text = Sse("\n", chunk, ContentEvent("next"), chunk, "[DONE]");

        Assert.Equal([new ChatDelta(Content: "next")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task Tool_call_deltas_carry_index_id_name_and_argument_fragments()
    {
        var text = Sse(
            "\n",
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
            "[DONE]");

        var deltas = await ReadAllAsync(Utf8Stream(text));

        Assert.Equal(4, deltas.Count);
        Assert.Null(deltas[0].Content);
        Assert.Equal([new ToolCallDelta(0, "call_a", "get_weather", "")], deltas[0].ToolCalls!);
        Assert.Equal([new ToolCallDelta(0, null, null, "{\"city\":")], deltas[1].ToolCalls!);
        Assert.Equal([new ToolCallDelta(0, null, null, "\"Paris\"}")], deltas[2].ToolCalls!);
        Assert.Equal(new ChatDelta(FinishReason: "tool_calls"), deltas[3]);
    }

    [Fact]
    public async Task Several_tool_calls_in_one_delta_are_all_returned_in_order()
    {
        var text = Sse(
            "\n",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}},{"index":2,"function":null}]},"finish_reason":null}]}""",
            "[DONE]");

        var delta = Assert.Single(await ReadAllAsync(Utf8Stream(text)));

        Assert.Equal(
            [
                new ToolCallDelta(0, "call_a", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCallDelta(1, "call_b", "get_time", "{}"),
                new ToolCallDelta(2, null, null, null),
            ],
            delta.ToolCalls!);
        Assert.Null(delta.Content);
        Assert.Null(delta.FinishReason);
    }

    [Fact]
    public async Task Refusal_text_is_returned_as_refusal_not_content()
    {
        var text = Sse(
            "\n",
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]}""",
            FinishEvent("stop"),
            "[DONE]");

        Assert.Equal(
            [new ChatDelta(Refusal: ""), new ChatDelta(Refusal: "I can't help with that."), new ChatDelta(FinishReason: "stop")],
            await ReadAllAsync(Utf8Stream(text)));
    }

    [Theory]
    [InlineData("""{"choices":[{"index":1,"delta":{"content":"second"},"finish_reason":"length"},{"index":0,"delta":{"content":"first"},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"first"},"finish_reason":null},{"index":1,"delta":{"content":"second"},"finish_reason":"length"}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":"first"}},{"index":2,"delta":{"refusal":"third"}}]}""")]
    public async Task Only_choice_index_0_is_taken_when_a_chunk_has_several(string chunk)
    {
        Assert.Equal([new ChatDelta(Content: "first")], await ReadAllAsync(Utf8Stream(Sse("\n", chunk, "[DONE]"))));
    }

    [Fact]
    public async Task A_chunk_with_only_another_choice_is_skipped()
    {
        var text = Sse("\n", """{"choices":[{"index":1,"delta":{"content":"other"},"finish_reason":"stop"}]}""", ContentEvent("mine"), "[DONE]");

        Assert.Equal([new ChatDelta(Content: "mine")], await ReadAllAsync(Utf8Stream(text)));
    }

    [Theory]
    [InlineData("""{"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7},"choices":[{"index":1,"delta":{}},{"index":0,"delta":{},"finish_reason":"stop"}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}""")]
    public async Task Usage_in_the_same_chunk_as_the_choice_is_kept_whichever_comes_first(string chunk)
    {
        Assert.Equal(
            [new ChatDelta(FinishReason: "stop", Usage: new TokenCounts(5, 2))],
            await ReadAllAsync(Utf8Stream(Sse("\n", chunk, "[DONE]"))));
    }

    [Fact]
    public async Task Usage_details_give_the_cached_prompt_tokens_and_the_reasoning_tokens()
    {
        var text = Sse(
            "\n",
            """{"choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":1024},"completion_tokens_details":{"accepted_prediction_tokens":0,"reasoning_tokens":256,"audio_tokens":0}}}""");

        Assert.Equal([new ChatDelta(Usage: new TokenCounts(1200, 300, CachedPrompt: 1024, Reasoning: 256))], await ReadAllAsync(Utf8Stream(text)));
    }

    [Theory]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":null,"completion_tokens_details":null}}""")]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":null},"completion_tokens_details":{}}}""")]
    public async Task Absent_or_null_usage_details_read_as_zero(string chunk)
    {
        Assert.Equal([new ChatDelta(Usage: new TokenCounts(9, 4))], await ReadAllAsync(Utf8Stream(Sse("\n", chunk))));
    }

    [Fact]
    public async Task Null_token_counts_read_as_zero()
    {
        var text = Sse("\n", """{"choices":[],"usage":{"prompt_tokens":null,"completion_tokens":4}}""");

        Assert.Equal([new ChatDelta(Usage: new TokenCounts(0, 4))], await ReadAllAsync(Utf8Stream(text)));
    }

    [Fact]
    public async Task Unknown_properties_nested_objects_and_arrays_are_skipped_wherever_they_are()
    {
        var text = Sse(
            "\n",
            """
            {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","service_tier":"default","system_fingerprint":"fp_9",
             "x_groq":{"id":"req_1","usage":{"prompt_tokens":999,"completion_tokens":999},"nested":[[1,2],{"choices":[]}]},
             "provider":{"name":"p","tags":["a",{"b":[null,true,false,1.5e3]}]},
             "choices":[{"index":0,
               "logprobs":{"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.1,"bytes":[72,105]}]}],"refusal":null},
               "delta":{"role":"assistant","reasoning_content":"thinking","audio":{"id":"a","data":"AAAA"},"content":"Hi",
                 "tool_calls":[{"index":3,"extra":{"deep":[{}]},"id":"call_z","type":"function","function":{"strict":true,"name":"f","meta":[1],"arguments":"{}"}}]},
               "finish_reason":"stop","stop_reason":{"x":[1]}}],
             "usage":{"prompt_tokens":8,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens":2,"total_tokens":10,"queue_time":0.01}}
            """.ReplaceLineEndings(" "),
            "[DONE]");

        var delta = Assert.Single(await ReadAllAsync(Utf8Stream(text)));

        Assert.Equal("Hi", delta.Content);
        Assert.Null(delta.Refusal);
        Assert.Equal([new ToolCallDelta(3, "call_z", "f", "{}")], delta.ToolCalls!);
        Assert.Equal("stop", delta.FinishReason);
        Assert.Equal(new TokenCounts(8, 2, CachedPrompt: 4), delta.Usage);
    }

    [Fact]
    public async Task Escaped_text_is_unescaped()
    {
        var text = Sse("\n", """{"choices":[{"index":0,"delta":{"content":"line1\nline2 \"quoted\" \u00e9 \ud83c\udf0d \\ \/"}}]}""");

        Assert.Equal([new ChatDelta(Content: "line1\nline2 \"quoted\" é 🌍 \\ /")], await ReadAllAsync(Utf8Stream(text)));
    }

    // ---- Malformed chunks ----

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"a"}}]""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"a}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"a"},}]}""")]
    [InlineData("""[{"choices":[]}]""")]
    [InlineData("\"a string\"")]
    [InlineData("")]
    [InlineData("""{"choices":{"index":0}}""")]
    [InlineData("""{"choices":[{"index":0,"delta":"text"}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"tool_calls":{"index":0}}}]}""")]
    [InlineData("""{"choices":[],"usage":7}""")]
    public async Task A_malformed_chunk_throws_JsonException(string chunk)
    {
        var text = Sse("\n", ContentEvent("fine"), chunk, ContentEvent("never read"), "[DONE]");
        await using var reader = new ChatChunkReader(Utf8Stream(text));

        Assert.Equal(new ChatDelta(Content: "fine"), await reader.ReadAsync(CancellationToken.None));
        await Assert.ThrowsAnyAsync<JsonException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":42}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"refusal":true}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":{"text":"a"}}}]}""")]
    [InlineData("""{"choices":[{"index":"0","delta":{"content":"a"}}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":1}]}""")]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":"12","completion_tokens":3}}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{"city":"Paris"}}}]}}]}""")]
    public async Task A_value_of_the_wrong_type_throws_InvalidOperationException(string chunk)
    {
        var text = Sse("\n", chunk, "[DONE]");

        await Assert.ThrowsAsync<InvalidOperationException>(() => ReadAllAsync(Utf8Stream(text)));
    }

    // ---- Errors inside the stream ----

    [Fact]
    public async Task An_error_object_throws_UpstreamStreamErrorException_with_its_message_after_the_deltas_before_it()
    {
        var text = Sse("\n", ContentEvent("partial"), """{"error":{"message":"rate limited","type":"server_error","param":null,"code":null}}""", "[DONE]");
        await using var reader = new ChatChunkReader(Utf8Stream(text));

        Assert.Equal(new ChatDelta(Content: "partial"), await reader.ReadAsync(CancellationToken.None));
        var error = await Assert.ThrowsAsync<UpstreamStreamErrorException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.Equal("rate limited", error.Message);
    }

    [Theory]
    [InlineData("""{"error":"boom"}""", "boom")]
    [InlineData("""{"error":{"type":"server_error","metadata":{"raw":"boom"}}}""", "no message")]
    [InlineData("""{"error":{"message":null,"code":500}}""", "no message")]
    [InlineData("""{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"error":{"code":502,"message":"Provider disconnected"}}""", "Provider disconnected")]
    public async Task An_error_in_any_shape_throws_UpstreamStreamErrorException(string chunk, string expectedMessage)
    {
        var text = Sse("\n", chunk, "[DONE]");

        var error = await Assert.ThrowsAsync<UpstreamStreamErrorException>(() => ReadAllAsync(Utf8Stream(text)));
        Assert.Equal(expectedMessage, error.Message);
    }

    [Fact]
    public async Task An_error_sent_as_a_named_event_is_still_an_error()
    {
        var text = "event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n";

        var error = await Assert.ThrowsAsync<UpstreamStreamErrorException>(() => ReadAllAsync(Utf8Stream(text)));
        Assert.Equal("overloaded", error.Message);
    }

    // ---- Cancellation and disposal ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_read_waiting_for_data_is_cancelled_by_its_token(bool halfAnEventSent)
    {
        // Either nothing at all, or an event's data line without the blank line that completes it; then silence.
        var sent = halfAnEventSent ? Encoding.UTF8.GetBytes("data: " + ContentEvent("Hello") + "\n") : [];
        var stream = new ScriptedStream(sent, int.MaxValue, stallAtEnd: true);
        await using var reader = new ChatChunkReader(stream);
        using var cancel = new CancellationTokenSource();

        var read = reader.ReadAsync(cancel.Token);
        Assert.False(read.IsCompleted, $"the read finished although the stream sent {(halfAnEventSent ? "half an event" : "nothing")}");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);
    }

    [Fact]
    public async Task Disposing_the_reader_leaves_the_stream_open()
    {
        using var stream = Utf8Stream(Sse("\n", ContentEvent("a"), "[DONE]"));
        var reader = new ChatChunkReader(stream);
        Assert.Equal(new ChatDelta(Content: "a"), await reader.ReadAsync(CancellationToken.None));

        await reader.DisposeAsync();

        Assert.True(stream.CanRead, "the reader closed a stream it does not own");
    }

    // ---- Helpers ----

    private static string ContentEvent(string content) =>
        $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":{{JsonSerializer.Serialize(content)}}},"finish_reason":null}]}""";

    private static string FinishEvent(string reason) =>
        $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"{{reason}}"}]}""";

    /// <summary>Each payload as one <c>data:</c> line followed by a blank line.</summary>
    private static string Sse(string newline, params IEnumerable<string> payloads) =>
        string.Concat(payloads.Select(payload => "data: " + payload + newline + newline));

    private static MemoryStream Utf8Stream(string text) => new(Encoding.UTF8.GetBytes(text));

    private static async Task<List<ChatDelta>> ReadAllAsync(Stream stream)
    {
        await using var reader = new ChatChunkReader(stream);
        var deltas = new List<ChatDelta>();
        while (await reader.ReadAsync(CancellationToken.None) is { } delta)
        {
            deltas.Add(delta);
            Assert.True(deltas.Count < 100_000, "the reader never reached the end of the stream");
        }

        return deltas;
    }

    /// <summary>
    /// Hands out <paramref name="bytes"/> at most <paramref name="maxBytesPerRead"/> at a time, then ends, or with
    /// <paramref name="stallAtEnd"/> never answers another read until its token is cancelled.
    /// </summary>
    private sealed class ScriptedStream(byte[] bytes, int maxBytesPerRead, bool stallAtEnd = false) : Stream
    {
        private int _position;

        /// <summary>How many reads the stream was asked for, including one still waiting.</summary>
        public int Reads { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            cancellationToken.ThrowIfCancellationRequested();
            if (_position == bytes.Length && stallAtEnd)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var count = Math.Min(Math.Min(buffer.Length, maxBytesPerRead), bytes.Length - _position);
            bytes.AsSpan(_position, count).CopyTo(buffer.Span);
            _position += count;
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            throw new NotSupportedException("The reader must read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
