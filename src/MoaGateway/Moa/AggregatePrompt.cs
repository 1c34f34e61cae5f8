using System.Text;
using OpenAI.Chat;

namespace MoaGateway.Moa;

/// <summary>The Aggregate-and-Synthesize prompt (Table 1 of Wang et al., 2024) and its injection into a conversation.</summary>
public static class AggregatePrompt
{
    public const string Default =
        "You have been provided with a set of responses from various open-source models to the latest user query. " +
        "Your task is to synthesize these responses into a single, high-quality response. It is crucial to critically " +
        "evaluate the information provided in these responses, recognizing that some of it may be biased or incorrect. " +
        "Your response should not simply replicate the given answers but should offer a refined, accurate, and " +
        "comprehensive reply to the instruction. Ensure your response is well-structured, coherent, and adheres to the " +
        "highest standards of accuracy and reliability.";

    public const string ResponsesHeader = "Responses from models:";

    /// <summary>Ends a reference cut at its model's <c>MaxReferenceCharacters</c>, so the aggregator can tell it is not whole.</summary>
    public const string TruncationMarker = " [... truncated]";

    /// <summary>The reference whole, or its first <paramref name="maxCharacters"/> characters and the marker.</summary>
    public static string Cap(string reference, int? maxCharacters)
    {
        if (maxCharacters is not { } max || reference.Length <= max)
        {
            return reference;
        }

        // A cut between the halves of a surrogate pair would leave text that cannot be encoded.
        var length = char.IsHighSurrogate(reference[max - 1]) ? max - 1 : max;
        return string.Concat(reference.AsSpan(0, length), TruncationMarker);
    }

    /// <summary>The instruction followed by the numbered references, as the reference implementation formats them.</summary>
    public static string Build(string instruction, IReadOnlyList<string> references)
    {
        var text = new StringBuilder(instruction.Length + 32 + references.Sum(reference => reference.Length + 8));
        text.Append(instruction).Append("\n\n").Append(ResponsesHeader);
        for (var i = 0; i < references.Count; i++)
        {
            text.Append('\n').Append(i + 1).Append(". ").Append(references[i]);
        }

        return text.ToString();
    }

    /// <summary>
    /// Returns the conversation with the prompt appended to its first system (or developer) message after a blank line,
    /// or, when it has none, with the prompt as a new first system message. The input is not modified.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Inject(IReadOnlyList<ChatMessage> messages, string instruction, IReadOnlyList<string> references)
    {
        var prompt = Build(instruction, references);
        var result = new List<ChatMessage>(messages.Count + 1);
        result.AddRange(messages);

        for (var i = 0; i < result.Count; i++)
        {
            switch (result[i])
            {
                case SystemChatMessage system:
                    result[i] = new SystemChatMessage(AppendText(system.Content, prompt)) { ParticipantName = system.ParticipantName };
                    return result;
#pragma warning disable OPENAI001 // The SDK marks developer messages as evaluation-only; clients send them today.
                case DeveloperChatMessage developer:
                    result[i] = new DeveloperChatMessage(AppendText(developer.Content, prompt)) { ParticipantName = developer.ParticipantName };
                    return result;
#pragma warning restore OPENAI001
            }
        }

        result.Insert(0, new SystemChatMessage(prompt));
        return result;
    }

    private static IEnumerable<ChatMessageContentPart> AppendText(ChatMessageContent content, string prompt)
    {
        var existing = string.Concat(content.Select(part => part.Text));
        return [ChatMessageContentPart.CreateTextPart(existing + "\n\n" + prompt)];
    }
}
