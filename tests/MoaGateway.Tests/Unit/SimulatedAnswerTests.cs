using System.Text.Json;
using MoaGateway.Providers.Simulated;

namespace MoaGateway.Tests.Unit;

/// <summary>The simulator answers like a sampled model: the same request the same, another seed differently.</summary>
public sealed class SimulatedAnswerTests
{
    private static string Answer(long? seed)
    {
        using var messages = JsonDocument.Parse("""[{"role":"user","content":"Why is the sky blue?"}]""");
        return string.Concat(SimulatedAnswer.Tokens("m", messages.RootElement, seed, answerTokens: 20, maxTokens: null, out _));
    }

    [Fact]
    public void The_same_seed_gives_the_same_answer_and_another_seed_another()
    {
        Assert.Equal(Answer(7), Answer(7));
        Assert.Equal(Answer(null), Answer(null));
        Assert.Equal(4, new[] { Answer(null), Answer(7), Answer(8), Answer(9) }.Distinct().Count());
    }
}
