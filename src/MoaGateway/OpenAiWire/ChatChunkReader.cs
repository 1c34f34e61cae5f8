using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MoaGateway.Moa;

namespace MoaGateway.OpenAiWire;

/// <summary>
/// Reads a streamed chat completion (server-sent events of <c>chat.completion.chunk</c> objects) straight from the
/// response bytes into deltas. A mixture reads a dozen such streams for every client request, so no JSON document or
/// model object is built per event: each payload is read once, and only the text it carries is allocated.
/// </summary>
public sealed class ChatChunkReader(Stream stream) : IAsyncDisposable
{
    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private bool _hasData;
    private bool _ended;

    /// <summary>The next delta that carries something; null once the stream says <c>[DONE]</c> or closes.</summary>
    /// <remarks>Called once per streamed event and usually suspended, so its state machine is pooled, not allocated per event.</remarks>
    /// <exception cref="JsonException">An event is not a well-formed chunk.</exception>
    /// <exception cref="UpstreamStreamErrorException">The upstream reported an error inside the stream.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ChatDelta?> ReadAsync(CancellationToken cancellationToken)
    {
        while (!_ended)
        {
            var result = await _pipe.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var dispatched = TakeEvent(ref buffer, result.IsCompleted);

            // After an event the rest of the buffer is unread, so the next read must return it at once rather than wait.
            _pipe.AdvanceTo(buffer.Start, dispatched ? buffer.Start : buffer.End);
            if (dispatched)
            {
                var delta = TakeDelta();
                if (delta is not null)
                {
                    return delta;
                }
            }
            else if (result.IsCompleted)
            {
                _ended = true;
            }
        }

        return null;
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();

    /// <summary>Consumes whole lines until one event's data is complete in <see cref="_data"/>; false when more bytes are needed.</summary>
    private bool TakeEvent(ref ReadOnlySequence<byte> buffer, bool streamEnded)
    {
        var reader = new SequenceReader<byte>(buffer);
        var lineStart = reader.Position;
        while (reader.TryReadToAny(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: false))
        {
            // A line ends at CR, LF or CR LF; a CR that ends the bytes read so far may have its LF still on the way.
            if (reader.IsNext((byte)'\r', advancePast: true))
            {
                if (reader.End && !streamEnded)
                {
                    buffer = buffer.Slice(lineStart);
                    return false;
                }

                reader.IsNext((byte)'\n', advancePast: true);
            }
            else
            {
                reader.Advance(1);
            }

            lineStart = reader.Position;
            if (line.IsEmpty && _hasData)
            {
                buffer = buffer.Slice(reader.Position);
                return true;
            }

            AddLine(line);
        }

        buffer = buffer.Slice(reader.Position);

        // A stream that closes without the blank line after its last event still delivers that event.
        return streamEnded && _hasData;
    }

    private void AddLine(ReadOnlySequence<byte> line)
    {
        var field = new SequenceReader<byte>(line);
        if (!field.IsNext("data"u8, advancePast: true) || !(field.End || field.IsNext((byte)':', advancePast: true)))
        {
            // Comments (": keep-alive"), event names, ids and retry hints say nothing about the answer.
            return;
        }

        field.IsNext((byte)' ', advancePast: true);
        if (_hasData)
        {
            _data.Write("\n"u8);
        }

        var value = field.UnreadSequence;
        value.CopyTo(_data.GetSpan((int)value.Length));
        _data.Advance((int)value.Length);
        _hasData = true;
    }

    private ChatDelta? TakeDelta()
    {
        try
        {
            if (_data.WrittenSpan.SequenceEqual("[DONE]"u8))
            {
                _ended = true;
                return null;
            }

            return ChunkJson.Read(_data.WrittenSpan);
        }
        finally
        {
            _data.ResetWrittenCount();
            _hasData = false;
        }
    }

    /// <summary>The fields of a chunk that make up a delta; everything else is skipped unread.</summary>
    private static class ChunkJson
    {
        public static ChatDelta? Read(ReadOnlySpan<byte> json)
        {
            var reader = new Utf8JsonReader(json);
            Expect(ref reader, JsonTokenType.StartObject);
            var fields = default(DeltaFields);
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    ReadChoices(ref reader, ref fields);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    fields.Usage = ReadUsage(ref reader);
                }
                else if (reader.ValueTextEquals("error"u8) && reader.Read() && reader.TokenType != JsonTokenType.Null)
                {
                    throw new UpstreamStreamErrorException(ReadErrorMessage(ref reader));
                }
                else
                {
                    SkipValue(ref reader);
                }
            }

            return fields.IsEmpty
                ? null
                : new ChatDelta(fields.Content, fields.Refusal, fields.ToolCalls, fields.FinishReason, fields.Usage);
        }

        private static void ReadChoices(ref Utf8JsonReader reader, ref DeltaFields fields)
        {
            if (!Opens(ref reader, JsonTokenType.StartArray))
            {
                return;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                Expect(ref reader, JsonTokenType.StartObject, read: false);
                var choice = default(DeltaFields);
                var index = 0;
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("index"u8))
                    {
                        index = NextInt32(ref reader);
                    }
                    else if (reader.ValueTextEquals("delta"u8))
                    {
                        reader.Read();
                        ReadDelta(ref reader, ref choice);
                    }
                    else if (reader.ValueTextEquals("finish_reason"u8))
                    {
                        choice.FinishReason = NextString(ref reader);
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }

                // The gateway asks for one choice; a provider that sends more has the first one relayed.
                if (index == 0)
                {
                    choice.Usage = fields.Usage;
                    fields = choice;
                }
            }
        }

        private static void ReadDelta(ref Utf8JsonReader reader, ref DeltaFields fields)
        {
            if (!Opens(ref reader, JsonTokenType.StartObject))
            {
                return;
            }

            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("content"u8))
                {
                    fields.Content = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("refusal"u8))
                {
                    fields.Refusal = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    fields.ToolCalls = ReadToolCalls(ref reader);
                }
                else
                {
                    SkipValue(ref reader);
                }
            }
        }

        private static List<ToolCallDelta>? ReadToolCalls(ref Utf8JsonReader reader)
        {
            if (!Opens(ref reader, JsonTokenType.StartArray))
            {
                return null;
            }

            var calls = new List<ToolCallDelta>(1);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                Expect(ref reader, JsonTokenType.StartObject, read: false);
                int index = 0;
                string? id = null, name = null, arguments = null;
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("index"u8))
                    {
                        index = NextInt32(ref reader);
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        id = NextString(ref reader);
                    }
                    else if (reader.ValueTextEquals("function"u8))
                    {
                        reader.Read();
                        ReadFunction(ref reader, ref name, ref arguments);
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }

                calls.Add(new ToolCallDelta(index, id, name, arguments));
            }

            return calls.Count == 0 ? null : calls;
        }

        private static void ReadFunction(ref Utf8JsonReader reader, ref string? name, ref string? arguments)
        {
            if (!Opens(ref reader, JsonTokenType.StartObject))
            {
                return;
            }

            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    name = NextString(ref reader);
                }
                else if (reader.ValueTextEquals("arguments"u8))
                {
                    arguments = NextString(ref reader);
                }
                else
                {
                    SkipValue(ref reader);
                }
            }
        }

        /// <summary>OpenAI's usage object, with the cached prompt tokens and reasoning tokens of its details.</summary>
        private static TokenCounts? ReadUsage(ref Utf8JsonReader reader)
        {
            if (!Opens(ref reader, JsonTokenType.StartObject))
            {
                return null;
            }

            int prompt = 0, completion = 0, cached = 0, reasoning = 0;
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("prompt_tokens"u8))
                {
                    prompt = NextCount(ref reader);
                }
                else if (reader.ValueTextEquals("completion_tokens"u8))
                {
                    completion = NextCount(ref reader);
                }
                else if (reader.ValueTextEquals("prompt_tokens_details"u8))
                {
                    cached = NextDetail(ref reader, "cached_tokens"u8);
                }
                else if (reader.ValueTextEquals("completion_tokens_details"u8))
                {
                    reasoning = NextDetail(ref reader, "reasoning_tokens"u8);
                }
                else
                {
                    SkipValue(ref reader);
                }
            }

            return new TokenCounts(prompt, completion, cached, reasoning);
        }

        /// <summary>A token count; providers send null for counts they do not keep.</summary>
        private static int NextCount(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.TokenType == JsonTokenType.Null ? 0 : reader.GetInt32();
        }

        /// <summary>The count named <paramref name="name"/> in a details object; 0 when the object or the count is absent or null.</summary>
        private static int NextDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
        {
            reader.Read();
            if (!Opens(ref reader, JsonTokenType.StartObject))
            {
                return 0;
            }

            var count = 0;
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals(name))
                {
                    count = NextCount(ref reader);
                }
                else
                {
                    SkipValue(ref reader);
                }
            }

            return count;
        }

        /// <summary>The message of an OpenAI error object, or the error itself when a provider sends a bare string.</summary>
        private static string ReadErrorMessage(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString()!;
            }

            Expect(ref reader, JsonTokenType.StartObject, read: false);
            var message = "no message";
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("message"u8))
                {
                    message = NextString(ref reader) ?? message;
                }
                else
                {
                    SkipValue(ref reader);
                }
            }

            return message;
        }

        /// <summary>True at the start of a value of type <paramref name="start"/>, false at null; anything else is malformed.</summary>
        private static bool Opens(ref Utf8JsonReader reader, JsonTokenType start)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return false;
            }

            Expect(ref reader, start, read: false);
            return true;
        }

        /// <summary>The string value of the property the reader is on.</summary>
        private static string? NextString(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.GetString();
        }

        private static int NextInt32(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.GetInt32();
        }

        /// <summary>Moves to the next property name of the current object; false at its end.</summary>
        private static bool NextProperty(ref Utf8JsonReader reader) =>
            reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

        private static void SkipValue(ref Utf8JsonReader reader)
        {
            reader.Read();
            reader.Skip();
        }

        private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, bool read = true)
        {
            if ((read && !reader.Read()) || reader.TokenType != type)
            {
                throw new JsonException($"Expected {type} in a chat.completion.chunk, found {reader.TokenType}.");
            }
        }

        private struct DeltaFields
        {
            public string? Content;
            public string? Refusal;
            public List<ToolCallDelta>? ToolCalls;
            public string? FinishReason;
            public TokenCounts? Usage;

            public readonly bool IsEmpty =>
                Content is null && Refusal is null && ToolCalls is null && FinishReason is null && Usage is null;
        }
    }
}

/// <summary>An error object sent inside an event stream, after the response had already begun as a success.</summary>
public sealed class UpstreamStreamErrorException(string message) : Exception(message);
