using OpenAI.Chat;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>Reads an SDK stream in two steps, so a test can act between the first token and the rest.</summary>
public static class StreamingUpdates
{
    public static async Task<string?> FirstContentAsync(IAsyncEnumerator<StreamingChatCompletionUpdate> updates)
    {
        while (await updates.MoveNextAsync())
        {
            if (updates.Current.ContentUpdate.FirstOrDefault()?.Text is { } text)
            {
                return text;
            }
        }

        return null;
    }

    public static async Task<string> RestAsync(IAsyncEnumerator<StreamingChatCompletionUpdate> updates)
    {
        var rest = "";
        while (await updates.MoveNextAsync())
        {
            rest += string.Concat(updates.Current.ContentUpdate.Select(p => p.Text));
        }

        return rest;
    }
}
