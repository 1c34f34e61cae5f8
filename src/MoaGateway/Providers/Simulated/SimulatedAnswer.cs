using System.Text.Json;

namespace MoaGateway.Providers.Simulated;

/// <summary>
/// A deterministic stand-in for a model's answer: the same model, conversation and seed always give the same tokens,
/// and another seed other tokens, as sampling would. It counts one token per whitespace-separated word, for the
/// prompt it reads and the answer it writes alike.
/// </summary>
internal static class SimulatedAnswer
{
    private static readonly string[] Vocabulary =
    [
        "the", "answer", "weighs", "each", "point", "carefully", "and", "notes", "that", "evidence", "suggests", "a",
        "balanced", "view", "while", "key", "details", "remain", "clear", "so", "this", "summary", "offers", "practical",
        "steps", "with", "sound", "reasoning", "overall", "context", "matters", "most",
    ];

    public static IReadOnlyList<string> Tokens(
        string model, JsonElement messages, long? seed, int answerTokens, int? maxTokens, out string finishReason)
    {
        var references = CountReferences(messages);
        // The text says it is simulated, for whoever reads only the answer.
        var opening = references > 0
            ? $"[simulated {model}] Synthesis of {references} responses:"
            : $"[simulated {model}] Answer:";
        var tokens = new List<string>(answerTokens);
        tokens.AddRange(opening.Split(' '));

        var random = Seed(model, LastUserText(messages), seed);
        while (tokens.Count < answerTokens)
        {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            tokens.Add(Vocabulary[(int)(random % (ulong)Vocabulary.Length)]);
        }

        finishReason = maxTokens is { } limit && limit < tokens.Count ? "length" : "stop";
        var count = maxTokens is { } max ? Math.Min(max, tokens.Count) : tokens.Count;
        return [.. tokens.Take(count).Select((token, index) => index == 0 ? token : " " + token)];
    }

    public static int CountPromptTokens(JsonElement messages)
    {
        var count = 0;
        foreach (var message in messages.EnumerateArray())
        {
            foreach (var text in Texts(message))
            {
                count += text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            }
        }

        return count;
    }

    /// <summary>How many numbered references an Aggregate-and-Synthesize prompt in the system message carries.</summary>
    private static int CountReferences(JsonElement messages)
    {
        foreach (var message in messages.EnumerateArray())
        {
            if (message.TryGetProperty("role", out var role) && role.ValueEquals("system"u8))
            {
                var text = string.Concat(Texts(message));
                var header = text.LastIndexOf("Responses from models:", StringComparison.Ordinal);
                if (header < 0)
                {
                    return 0;
                }

                var count = 0;
                foreach (var line in text[header..].Split('\n'))
                {
                    if (line.StartsWith($"{count + 1}. ", StringComparison.Ordinal))
                    {
                        count++;
                    }
                }

                return count;
            }
        }

        return 0;
    }

    private static string LastUserText(JsonElement messages)
    {
        var last = string.Empty;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.TryGetProperty("role", out var role) && role.ValueEquals("user"u8))
            {
                last = string.Concat(Texts(message));
            }
        }

        return last;
    }

    private static IEnumerable<string> Texts(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            yield break;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            yield return content.GetString()!;
        }
        else if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in content.EnumerateArray())
            {
                if (part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    yield return text.GetString()!;
                }
            }
        }
    }

    /// <summary>FNV-1a, stable across processes (unlike string.GetHashCode), never zero so the xorshift above keeps moving.</summary>
    private static ulong Seed(string model, string prompt, long? seed)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in string.Concat(model, "\n", prompt, seed is { } value ? $"\n{value}" : ""))
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash == 0 ? 1 : hash;
    }
}
