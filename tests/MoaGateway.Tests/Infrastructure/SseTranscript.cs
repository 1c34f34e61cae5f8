using System.Text.Json.Nodes;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>A server-sent-event stream read line by line over raw HTTP, with how it ended.</summary>
public sealed record SseTranscript(IReadOnlyList<string> Lines, Exception? BrokenBy)
{
    public IReadOnlyList<string> DataPayloads => [.. Lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..])];

    public IReadOnlyList<JsonObject> JsonEvents => [.. DataPayloads.Where(p => p != "[DONE]").Select(p => JsonNode.Parse(p)!.AsObject())];

    public IReadOnlyList<string> Comments => [.. Lines.Where(l => l.StartsWith(':'))];

    public bool EndedWithDone => DataPayloads.Count > 0 && DataPayloads[^1] == "[DONE]";

    public string Content => string.Concat(JsonEvents
        .Where(e => e["choices"] is JsonArray { Count: > 0 })
        .Select(e => e["choices"]![0]!["delta"]?["content"]?.GetValue<string>()));

    /// <summary>
    /// Asserts that the stream ended as a cut-off one must: an error event last, no <c>[DONE]</c>, a broken connection.
    /// Returns the error object.
    /// </summary>
    public JsonObject AssertCutOff()
    {
        var events = JsonEvents;
        var error = events.Count > 0 ? events[^1]["error"] as JsonObject : null;
        Assert.True(error is not null, $"the last event is no error: {string.Join(" | ", Lines)}");
        Assert.False(EndedWithDone, "a cut-off stream ended with [DONE]");
        Assert.True(BrokenBy is not null, "the connection of a cut-off stream ended cleanly");
        return error;
    }

    public static async Task<SseTranscript> ReadAsync(HttpResponseMessage response)
    {
        var lines = new List<string>();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(line);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            return new SseTranscript(lines, exception);
        }

        return new SseTranscript(lines, null);
    }
}
