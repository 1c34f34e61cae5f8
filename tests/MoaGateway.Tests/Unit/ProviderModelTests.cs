using MoaGateway.Configuration;

namespace MoaGateway.Tests.Unit;

public sealed class ProviderModelTests
{
    [Theory]
    [InlineData("groq/llama-3.3-70b-versatile", "groq", "llama-3.3-70b-versatile")]
    [InlineData("together/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")]
    [InlineData("groq/*", "groq", "*")]
    public void A_name_splits_at_its_first_slash(string name, string provider, string model)
    {
        Assert.True(ProviderModel.TryParse(name, out var parsed));
        Assert.Equal(new ProviderModel(provider, model), parsed);
        Assert.Equal(name, parsed.ToString());
    }

    [Theory]
    [InlineData("moa")]
    [InlineData("/model")]
    [InlineData("provider/")]
    [InlineData("")]
    [InlineData(null)]
    public void A_name_without_both_a_provider_and_a_model_is_not_one(string? name) => Assert.False(ProviderModel.TryParse(name, out _));
}
