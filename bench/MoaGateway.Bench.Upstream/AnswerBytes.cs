using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace MoaGateway.Bench.Upstream;

/// <summary>
/// Every byte the upstream sends, serialised once at start-up; per request only the first token's timestamp and the
/// usage numbers are formatted. The first token reads <c>T&lt;timestamp&gt; </c>, the sender's monotonic clock
/// (<see cref="Stopwatch.GetTimestamp"/>, shared by every process on the machine) when it was written, so a client
/// can tell how long that token took to reach it through whatever sits in between.
/// </summary>
internal static class AnswerBytes
{
    public const byte StampMarker = (byte)'T';

    private const string Header = """{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":""";

    private static readonly string[] Words = ["lorem ", "ipsum ", "dolor ", "sit ", "amet ", "consectetur ", "adipiscing ", "elit "];

    private static readonly byte[][] TokenEvents = [.. Words.Select(word => Event($$"""[{"index":0,"delta":{"content":"{{word}}"},"finish_reason":null}]}"""))];

    private static readonly byte[] FirstTokenStart = Encoding.UTF8.GetBytes(
        $$"""data: {{Header}}[{"index":0,"delta":{"role":"assistant","content":"{{(char)StampMarker}}""");

    private static readonly byte[] FirstTokenEnd = Encoding.UTF8.GetBytes($$""" {{Words[0]}}"},"finish_reason":null}]}""" + "\n\n");

    private static readonly byte[] FinishEvent = Event("""[{"index":0,"delta":{},"finish_reason":"stop"}]}""");

    private static readonly byte[] UsageStart = Encoding.UTF8.GetBytes($$"""data: {{Header}}[],"usage":{"prompt_tokens":""");

    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private static readonly byte[] CompletionStart = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":""");

    private static readonly byte[] CompletionEnd = Encoding.UTF8.GetBytes("""},"finish_reason":"stop"}],"usage":{"prompt_tokens":""");

    private static readonly ConcurrentDictionary<int, byte[]> Contents = new();

    /// <summary>Token <paramref name="index"/> (1-based after the first) as a whole SSE event.</summary>
    public static ReadOnlySpan<byte> Token(int index) => TokenEvents[index % TokenEvents.Length];

    public static void WriteFirstToken(IBufferWriter<byte> output)
    {
        output.Write(FirstTokenStart);
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(Stopwatch.GetTimestamp(), span, out var written);
        output.Advance(written);
        output.Write(FirstTokenEnd);
    }

    public static void WriteEnd(IBufferWriter<byte> output, int promptTokens, int completionTokens, bool includeUsage)
    {
        output.Write(FinishEvent);
        if (includeUsage)
        {
            output.Write(UsageStart);
            WriteUsageNumbers(output, promptTokens, completionTokens);
            output.Write("}\n\n"u8);
        }

        output.Write(Done);
    }

    /// <summary>A whole <c>chat.completion</c>: the answer the stream would have given, as one JSON object.</summary>
    public static void WriteCompletion(IBufferWriter<byte> output, int promptTokens, int completionTokens)
    {
        output.Write(CompletionStart);
        output.Write(Contents.GetOrAdd(completionTokens, Content));
        output.Write(CompletionEnd);
        WriteUsageNumbers(output, promptTokens, completionTokens);
        output.Write("}"u8);
    }

    private static void WriteUsageNumbers(IBufferWriter<byte> output, int promptTokens, int completionTokens)
    {
        WriteNumber(output, promptTokens);
        output.Write(""","completion_tokens":"""u8);
        WriteNumber(output, completionTokens);
        output.Write(""","total_tokens":"""u8);
        WriteNumber(output, promptTokens + completionTokens);
        output.Write("}"u8);
    }

    private static void WriteNumber(IBufferWriter<byte> output, int value)
    {
        Utf8Formatter.TryFormat(value, output.GetSpan(11), out var written);
        output.Advance(written);
    }

    private static byte[] Content(int tokens) =>
        Encoding.UTF8.GetBytes("\"" + string.Concat(Enumerable.Range(0, tokens).Select(i => Words[i % Words.Length])) + "\"");

    private static byte[] Event(string choicesAndRest) => Encoding.UTF8.GetBytes($"data: {Header}{choicesAndRest}\n\n");
}
