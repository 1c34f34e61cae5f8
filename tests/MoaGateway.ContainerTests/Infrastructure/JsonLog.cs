using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoaGateway.ContainerTests.Infrastructure;

/// <summary>
/// A container's standard output read as JSON log lines. Lookups go by the values of an event's top-level fields,
/// not by their names, so they hold for any JSON layout that writes the message and its properties.
/// </summary>
public sealed class JsonLog
{
    private JsonLog(IReadOnlyList<JsonObject> events) => Events = events;

    public IReadOnlyList<JsonObject> Events { get; }

    /// <summary>Fails the test, naming the line, unless every non-empty line of <paramref name="stdout"/> is one JSON object.</summary>
    public static JsonLog Parse(string stdout)
    {
        var events = new List<JsonObject>();
        foreach (var (line, number) in stdout.Split('\n').Select((line, i) => (line, i + 1)).Where(l => l.line.Trim().Length > 0))
        {
            try
            {
                events.Add(JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object"));
            }
            catch (JsonException notJson)
            {
                Assert.Fail($"stdout line {number} is not a JSON object ({notJson.Message}): {line}");
            }
        }

        return new JsonLog(events);
    }

    /// <summary>The positions, in order, of the events with a top-level string containing <paramref name="text"/>.</summary>
    public IReadOnlyList<int> Mentioning(string text) => [.. Events
        .Select((e, position) => (e, position))
        .Where(x => x.e.Any(field => field.Value is JsonValue value && value.TryGetValue<string>(out var s) && s.Contains(text, StringComparison.Ordinal)))
        .Select(x => x.position)];
}
