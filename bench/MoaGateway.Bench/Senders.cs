using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using MoaGateway.Bench.Upstream;

namespace MoaGateway.Bench;

/// <summary>Sends one measured request; how and to whom is the sender's business.</summary>
internal delegate Task<Sample> Sender(CancellationToken cancellationToken);

/// <summary>The request bodies the benchmark sends, each built once.</summary>
internal static class RequestBodies
{
    private const string Question = "Why is the sky blue? Answer in one paragraph.";

    /// <summary>Filler as long as the gateway's Aggregate-and-Synthesize instruction, so direct runs send bodies of the same size.</summary>
    private static readonly string Instruction = string.Concat(Enumerable.Repeat("Synthesize the responses below into one answer. ", 13));

    /// <summary>
    /// A streamed chat request with usage, as OpenAI's SDKs send it, with the references of a previous layer if any, and
    /// asking the gateway for the panel when <paramref name="includeProposals"/>.
    /// </summary>
    public static byte[] Chat(string model, IEnumerable<Pacing>? previousLayer = null, bool includeProposals = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
            json.WriteStartArray("messages");
            if (previousLayer is not null)
            {
                var answers = previousLayer.Select((agent, i) => $"{i + 1}. T00000000000000 {string.Concat(Enumerable.Repeat("lorem ", agent.Tokens))}");
                WriteMessage(json, "system", $"{Instruction}\n\nResponses from models:\n{string.Join('\n', answers)}");
            }

            WriteMessage(json, "user", Question);
            json.WriteEndArray();
            if (includeProposals)
            {
                json.WriteStartObject("moa");
                json.WriteBoolean("include_proposals", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The same question as a streamed Responses API request, as the OpenAI SDKs send it.</summary>
    public static byte[] Responses(string model)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteBoolean("stream", true);
            json.WriteString("input", Question);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }
}

internal static class Senders
{
    /// <summary>
    /// One streamed request to <paramref name="endpoint"/> per call, in the shape of <paramref name="api"/>; with
    /// <paramref name="includeProposals"/>, a chat request that asks for the panel, and a sample that fails without one.
    /// </summary>
    public static Sender Single(
        HttpClient http, Uri endpoint, string model, IReadOnlyList<KeyValuePair<string, string>>? headers = null, ClientApi api = ClientApi.ChatCompletions,
        bool includeProposals = false)
    {
        var body = api == ClientApi.Responses ? RequestBodies.Responses(model) : RequestBodies.Chat(model, includeProposals: includeProposals);
        return cancellationToken => StreamCall.SendAsync(http, endpoint, body, headers ?? [], Stopwatch.GetTimestamp(), cancellationToken, api, includeProposals);
    }

    /// <summary>
    /// The mixture run by the driver itself straight against the upstream, as a gateway that cost nothing would run it:
    /// each layer's calls at once, the next layer once it is over (cutting stragglers the same way), then the
    /// aggregator, whose stream is the sample, timed from the start of the first layer.
    /// </summary>
    public static Sender DirectMixture(HttpClient http, Uri chat, Mixture mixture)
    {
        var layerBodies = new byte[mixture.Layers.Count][][];
        IEnumerable<Pacing>? references = null;
        for (var l = 0; l < mixture.Layers.Count; l++)
        {
            var previous = references;
            layerBodies[l] = [.. mixture.Layers[l].Agents.Select((agent, a) => RequestBodies.Chat(Mixture.AgentModel(a, agent), previous))];
            references = mixture.Layers[l].Answering;
        }

        var aggregatorBody = RequestBodies.Chat(Mixture.AggregatorModel(mixture.Aggregator), references);

        return async cancellationToken =>
        {
            var origin = Stopwatch.GetTimestamp();
            for (var l = 0; l < mixture.Layers.Count; l++)
            {
                var layer = mixture.Layers[l];
                using var stragglers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var calls = layerBodies[l].Select(body => StreamCall.SendAsync(http, chat, body, [], origin, stragglers.Token)).ToArray();
                if (layer is { Quorum: { } quorum, GraceMs: { } grace } && quorum < calls.Length)
                {
                    await CutAfterQuorumAsync(calls, quorum, TimeSpan.FromMilliseconds(grace), stragglers);
                }

                var results = await Task.WhenAll(calls);
                if (results.FirstOrDefault(result => !result.Ok && !result.Cancelled) is { Error: { } error })
                {
                    return Sample.Failed($"layer {l + 1}: {error}");
                }
            }

            return await StreamCall.SendAsync(http, chat, aggregatorBody, [], origin, cancellationToken);
        };
    }

    private static async Task CutAfterQuorumAsync(Task<Sample>[] calls, int quorum, TimeSpan grace, CancellationTokenSource stragglers)
    {
        var pending = calls.ToList();
        var answered = 0;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            if (done.Result.Ok && ++answered == quorum && pending.Count > 0)
            {
                stragglers.CancelAfter(grace);
                return;
            }
        }
    }
}
