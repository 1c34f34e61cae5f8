using MoaGateway.Configuration;
using MoaGateway.Security;

namespace MoaGateway.Tests.Unit;

public sealed class ClientKeyTests
{
    private static ClientKey Key(params string[] allowed) => new("k", new byte[32], new ClientKeyOptions { AllowedModels = [.. allowed] });

    [Theory]
    [InlineData("moa")]
    [InlineData("groq/llama-3.3-70b")]
    public void No_allowed_models_means_every_model(string model) => Assert.True(Key().MayUse(model));

    [Fact]
    public void A_star_allows_every_model() => Assert.True(Key("moa", "*").MayUse("other/x"));

    [Fact]
    public void Virtual_model_ids_match_exactly()
    {
        var key = Key("moa");

        Assert.True(key.MayUse("moa"));
        Assert.False(key.MayUse("MOA"));
        Assert.False(key.MayUse("moa-lite"));
    }

    [Fact]
    public void Pass_through_names_match_the_provider_in_any_case_and_the_model_exactly()
    {
        var key = Key("groq/llama-3.3-70b");

        Assert.True(key.MayUse("GROQ/llama-3.3-70b"));
        Assert.False(key.MayUse("groq/LLAMA-3.3-70b"));
        Assert.False(key.MayUse("groq/qwen"));
    }

    [Fact]
    public void A_provider_wildcard_allows_every_model_of_that_provider_only()
    {
        var key = Key("groq/*");

        Assert.True(key.MayUse("groq/llama-3.3-70b"));
        Assert.True(key.MayUse("Groq/meta-llama/Llama-3.3-70B"));
        Assert.False(key.MayUse("together/llama-3.3-70b"));
        Assert.False(key.MayUse("groq"));
    }
}
