using MoaGateway.Moa;
using OpenAI.Chat;

namespace MoaGateway.Tests.Unit;

public sealed class AggregatePromptTests
{
    private static readonly string[] References = ["Paris.", "It is Paris, France."];

    [Fact]
    public void Prompt_is_the_papers_instruction_then_numbered_references_under_the_header()
    {
        var prompt = AggregatePrompt.Build(AggregatePrompt.Default, References);

        Assert.StartsWith("You have been provided with a set of responses from various open-source models to the latest user query.", prompt, StringComparison.Ordinal);
        Assert.EndsWith("adheres to the highest standards of accuracy and reliability.\n\nResponses from models:\n1. Paris.\n2. It is Paris, France.", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_system_message_the_prompt_becomes_a_new_first_system_message()
    {
        ChatMessage[] messages = [new UserChatMessage("Capital of France?")];

        var injected = AggregatePrompt.Inject(messages, AggregatePrompt.Default, References);

        Assert.Equal(2, injected.Count);
        var system = Assert.IsType<SystemChatMessage>(injected[0]);
        Assert.Equal(AggregatePrompt.Build(AggregatePrompt.Default, References), system.Content[0].Text);
        Assert.Same(messages[0], injected[1]);
    }

    [Fact]
    public void With_a_system_message_the_prompt_is_appended_to_it_after_a_blank_line()
    {
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Capital of France?")];

        var injected = AggregatePrompt.Inject(messages, "Combine these.", References);

        Assert.Equal(2, injected.Count);
        var system = Assert.IsType<SystemChatMessage>(injected[0]);
        Assert.Equal("Be brief.\n\nCombine these.\n\nResponses from models:\n1. Paris.\n2. It is Paris, France.", Assert.Single(system.Content).Text);
        Assert.Equal("Be brief.", messages[0].Content[0].Text);
    }

    [Fact]
    public void Two_layers_prompts_are_the_same_up_to_their_first_reference_and_keep_the_history_after_it()
    {
        // What a provider's prompt cache can reuse between a layer-2 proposer and the aggregator of the same request:
        // the client's system text, the instruction and the header; the references differ, and the history follows them.
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Q1"), new AssistantChatMessage("A1"), new UserChatMessage("Q2")];

        var layerTwo = AggregatePrompt.Inject(messages, AggregatePrompt.Default, ["layer one said this"]);
        var aggregator = AggregatePrompt.Inject(messages, AggregatePrompt.Default, ["layer two said that"]);

        var first = layerTwo[0].Content[0].Text;
        var second = aggregator[0].Content[0].Text;
        var shared = $"Be brief.\n\n{AggregatePrompt.Default}\n\nResponses from models:\n1. layer ";
        Assert.StartsWith(shared, first, StringComparison.Ordinal);
        Assert.StartsWith(shared, second, StringComparison.Ordinal);
        Assert.NotEqual(first[shared.Length], second[shared.Length]);
        Assert.Equal(messages[1..], layerTwo.Skip(1));
        Assert.Equal(messages[1..], aggregator.Skip(1));
    }

    [Fact]
    public void Only_the_first_system_message_receives_the_prompt_and_the_history_keeps_its_order()
    {
        ChatMessage[] messages =
        [
            new UserChatMessage("Q1"), new AssistantChatMessage("A1"), new SystemChatMessage("Late rule."),
            new UserChatMessage("Q2"), new SystemChatMessage("Another rule."),
        ];

        var injected = AggregatePrompt.Inject(messages, "Combine.", References);

        Assert.Equal(5, injected.Count);
        Assert.Same(messages[0], injected[0]);
        Assert.Same(messages[1], injected[1]);
        Assert.StartsWith("Late rule.\n\nCombine.", injected[2].Content[0].Text, StringComparison.Ordinal);
        Assert.Same(messages[3], injected[3]);
        Assert.Same(messages[4], injected[4]);
    }

    [Fact]
    public void A_developer_message_counts_as_the_system_message()
    {
#pragma warning disable OPENAI001
        ChatMessage[] messages = [new DeveloperChatMessage("Dev rule."), new UserChatMessage("Q")];

        var injected = AggregatePrompt.Inject(messages, "Combine.", References);

        Assert.IsType<DeveloperChatMessage>(injected[0]);
#pragma warning restore OPENAI001
        Assert.StartsWith("Dev rule.\n\nCombine.", injected[0].Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(2, injected.Count);
    }

    [Theory]
    [InlineData("short", 10, "short")]
    [InlineData("exactly10!", 10, "exactly10!")]
    [InlineData("a longer answer", 8, "a longer [... truncated]")]
    // A cut that would split a surrogate pair keeps the pair out whole.
    [InlineData("abc\U0001F600def", 4, "abc [... truncated]")]
    public void A_reference_is_capped_with_a_visible_marker(string reference, int max, string expected)
    {
        Assert.Equal(expected, AggregatePrompt.Cap(reference, max));
    }

    [Fact]
    public void Without_a_cap_a_reference_stays_whole()
    {
        var reference = new string('x', 100_000);

        Assert.Same(reference, AggregatePrompt.Cap(reference, null));
    }
}
