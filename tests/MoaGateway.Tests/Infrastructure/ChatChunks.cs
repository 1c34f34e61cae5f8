using System.Text.Json;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>
/// Scripted chat completion streams for <see cref="FakeReply.EventStream"/>: an aggregator that calls tools, mixes
/// text and calls, or stops on its token limit, chunk by chunk as OpenAI's servers stream them.
/// </summary>
public static class ChatChunks
{
    public static object Content(string text) => new { content = text };

    public static object ToolCallStart(int index, string id, string name, string arguments = "") =>
        new { tool_calls = new[] { new { index, id, type = "function", function = new { name, arguments } } } };

    public static object ToolCallArguments(int index, string arguments) =>
        new { tool_calls = new[] { new { index, function = new { arguments } } } };

    /// <summary>One event per delta, then the finish reason, usage and <c>[DONE]</c>.</summary>
    public static IReadOnlyList<string> Stream(string finishReason, params object[] deltas) =>
    [
        .. deltas.Select(delta => Event(Chunk(delta, null))),
        Event(Chunk(new { }, finishReason)),
        Event(new
        {
            id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model = "scripted", choices = Array.Empty<object>(),
            usage = new { prompt_tokens = 11, completion_tokens = deltas.Length, total_tokens = 11 + deltas.Length },
        }),
        "data: [DONE]\n\n",
    ];

    private static object Chunk(object delta, string? finishReason) => new
    {
        id = "chatcmpl-fake",
        @object = "chat.completion.chunk",
        created = 1,
        model = "scripted",
        choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
    };

    private static string Event(object payload) => $"data: {JsonSerializer.Serialize(payload)}\n\n";
}
