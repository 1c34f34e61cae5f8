using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace MoaGateway.Bench;

/// <summary>
/// What one streamed request measured, in milliseconds from its origin: the response's first byte (its status line),
/// its first content token, its end, its size, and how long the upstream's first token took from being written by the
/// upstream to being read here (<see cref="TokenTransitMs"/>; null when the answer carried no stamp).
/// </summary>
internal readonly record struct Sample(double FirstByteMs, double FirstTokenMs, double TotalMs, long Bytes, double? TokenTransitMs, string? Error)
{
    private const string CancelledError = "cancelled";

    public bool Ok => Error is null;

    /// <summary>Stopped by its caller, as a straggler is.</summary>
    public bool Cancelled => Error == CancelledError;

    public static Sample Failed(string error) => new(0, 0, 0, 0, null, error);

    public static Sample Cancel() => Failed(CancelledError);
}

/// <summary>The OpenAI API a streamed request speaks: its path under <c>/v1</c>, and how its stream says a token, an end, a failure.</summary>
internal enum ClientApi
{
    /// <summary><c>chat/completions</c>: content in <c>chat.completion.chunk</c> events, a finish reason, then <c>[DONE]</c>.</summary>
    ChatCompletions,

    /// <summary><c>responses</c>: <c>response.output_text.delta</c> events, then <c>response.completed</c>.</summary>
    Responses,
}

/// <summary>Sends one streaming request and reads its server-sent events as they arrive.</summary>
internal static class StreamCall
{
    private const int BufferSize = 16 * 1024;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>
    /// Never throws: a failure, a timeout, or cancellation through <paramref name="cancellationToken"/> comes back as the
    /// sample's error; so does a stream without panel chunks when <paramref name="expectPanel"/>.
    /// </summary>
    public static async Task<Sample> SendAsync(
        HttpClient http, Uri uri, byte[] body, IReadOnlyList<KeyValuePair<string, string>> headers, long origin, CancellationToken cancellationToken,
        ClientApi api = ClientApi.ChatCompletions, bool expectPanel = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = Json;
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var firstByte = Stopwatch.GetTimestamp();
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(timeout.Token);
                return Sample.Failed($"HTTP {(int)response.StatusCode}: {text[..Math.Min(text.Length, 300)]}");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            var events = new SseProgress(api, expectPanel);
            long bytes = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                bytes += read;
                events.Feed(buffer.AsSpan(0, read), Stopwatch.GetTimestamp());
            }

            var end = Stopwatch.GetTimestamp();
            return events.Failure is { } failure
                ? Sample.Failed(failure)
                : new Sample(Ms(origin, firstByte), Ms(origin, events.FirstTokenAt), Ms(origin, end), bytes, events.TransitMs, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Sample.Failed($"no complete answer within {Timeout.TotalSeconds:0} s");
        }
        catch (OperationCanceledException)
        {
            return Sample.Cancel();
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            return Sample.Failed($"{exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>
    /// Follows an SSE response line by line: its first content token, that token's stamp, and a proper ending. Panel
    /// chunks (no choices, a <c>moa</c> object) are counted and passed over: a proposer's text is no content token.
    /// </summary>
    private sealed class SseProgress(ClientApi api, bool expectPanel)
    {
        private readonly ArrayBufferWriter<byte> _partialLine = new(1024);
        private bool _finished;
        private bool _done;
        private int _panelChunks;
        private string? _error;

        public long FirstTokenAt { get; private set; }

        public double? TransitMs { get; private set; }

        public string? Failure =>
            _error is not null ? $"error event: {_error}"
            : FirstTokenAt == 0 ? "no content token"
            : !_finished ? (api == ClientApi.Responses ? "stream ended without response.completed" : "stream ended without a finish reason")
            : !_done ? "stream ended without [DONE]"
            : expectPanel && _panelChunks == 0 ? "no panel chunk"
            : null;

        public void Feed(ReadOnlySpan<byte> data, long now)
        {
            while (data.IndexOf((byte)'\n') is var newline and >= 0)
            {
                if (_partialLine.WrittenCount == 0)
                {
                    Line(data[..newline], now);
                }
                else
                {
                    _partialLine.Write(data[..newline]);
                    Line(_partialLine.WrittenSpan, now);
                    _partialLine.ResetWrittenCount();
                }

                data = data[(newline + 1)..];
            }

            _partialLine.Write(data);
        }

        private void Line(ReadOnlySpan<byte> line, long now)
        {
            if (!line.StartsWith("data:"u8))
            {
                return;
            }

            var payload = line[5..].Trim((byte)' ').TrimEnd((byte)'\r');
            if (payload.SequenceEqual("[DONE]"u8))
            {
                _done = true;
                return;
            }

            if (payload.StartsWith("{\"error\""u8) || payload.StartsWith("{\"type\":\"response.failed\""u8))
            {
                _error ??= Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, 300)]);
                return;
            }

            if (api == ClientApi.Responses)
            {
                // Events name their type first; the whole answer ends with response.completed, and no [DONE] follows.
                if (payload.StartsWith("{\"type\":\"response.output_text.delta\""u8))
                {
                    Token(payload, "\"delta\":\""u8, now);
                }

                _finished = _done |= payload.StartsWith("{\"type\":\"response.completed\""u8);
                return;
            }

            if (payload.IndexOf("\"choices\":[],\"moa\":"u8) >= 0)
            {
                _panelChunks++;
                return;
            }

            Token(payload, "\"content\":\""u8, now);
            _finished |= payload.IndexOf("\"finish_reason\":\""u8) >= 0;
        }

        /// <summary>Notes the first token, the string after <paramref name="field"/>, and the upstream's stamp in it.</summary>
        private void Token(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> field, long now)
        {
            if (FirstTokenAt == 0 && payload.IndexOf(field) is var at and >= 0 && payload[(at + field.Length)..] is [not (byte)'"', ..] content)
            {
                FirstTokenAt = now;
                if (content is [(byte)'T', .. var digits] && Utf8Parser.TryParse(digits, out long stamp, out _))
                {
                    TransitMs = Ms(stamp, now);
                }
            }
        }
    }
}
