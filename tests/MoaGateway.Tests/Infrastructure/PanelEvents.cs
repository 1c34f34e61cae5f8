using System.Text.Json.Nodes;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>
/// The panel events of a stream, as a client reads them: in chat completions, the <c>moa</c> object of chunks without
/// choices, named by its <c>event</c>; in the Responses API, events whose <c>type</c> starts with <c>moa.</c>.
/// </summary>
public sealed record PanelEvents(IReadOnlyList<JsonObject> Events)
{
    public static PanelEvents OfChat(SseTranscript transcript) =>
        new([.. transcript.JsonEvents.Where(e => e["choices"] is JsonArray { Count: 0 } && e["moa"] is JsonObject).Select(e => e["moa"]!.AsObject())]);

    /// <summary>The Responses API's panel events, each with an <c>event</c> name as chat completions names it, to read both alike.</summary>
    public static PanelEvents OfResponses(SseTranscript transcript) =>
        new([.. transcript.JsonEvents
            .Where(e => e["type"]!.GetValue<string>().StartsWith("moa.", StringComparison.Ordinal))
            .Select(e =>
            {
                var copy = e.DeepClone().AsObject();
                copy["event"] = e["type"]!.GetValue<string>()["moa.".Length..];
                return copy;
            })]);

    public IEnumerable<JsonObject> Named(string name) => Events.Where(e => e["event"]!.GetValue<string>() == name);

    /// <summary>The one <c>proposal.done</c> of the call to <paramref name="model"/> (and <paramref name="sample"/>).</summary>
    public JsonObject Done(string model, int? sample = null) =>
        Assert.Single(Named("proposal.done"), e => e["model"]!.GetValue<string>() == model && e["sample"]?.GetValue<int>() == sample);

    /// <summary>
    /// Each call's text as a client rebuilds it: its deltas in order, starting over at a <c>proposal.retry</c>; keyed by
    /// layer, agent and sample.
    /// </summary>
    public IReadOnlyDictionary<(int Layer, int Agent, int? Sample), string> Texts()
    {
        var texts = new Dictionary<(int, int, int?), string>();
        foreach (var e in Events.Where(e => e["event"]!.GetValue<string>() is "proposal.delta" or "proposal.retry"))
        {
            var key = (e["layer"]!.GetValue<int>(), e["agent"]!.GetValue<int>(), e["sample"]?.GetValue<int>());
            texts[key] = e["event"]!.GetValue<string>() == "proposal.retry" ? "" : texts.GetValueOrDefault(key, "") + e["delta"]!.GetValue<string>();
        }

        return texts;
    }
}
