using Microsoft.Extensions.Configuration;
using MoaGateway.Configuration;

namespace MoaGateway.Tests.Unit;

/// <summary>Every key under MoaGateway is checked against the settings that exist, before anything is bound.</summary>
public sealed class ConfigurationShapeTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] settings) => ConfigurationShape.Check(
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(setting => new KeyValuePair<string, string?>(setting.Key, setting.Value)))
            .Build());

    [Fact]
    public void Known_settings_of_every_kind_pass()
    {
        Assert.Empty(Problems(
            ("MoaGateway:KeepAliveSeconds", "2.5"),
            ("MoaGateway:SimulateProvidersWithoutKeys", "true"),
            ("MoaGateway:Providers:groq:BaseUrl", "https://api.groq.com/openai/v1"),
            ("MoaGateway:Providers:groq:Headers:X-Team", "research"),
            ("MoaGateway:Providers:groq:Retry:MaxRetries", "3"),
            ("MoaGateway:Models:m:AgentDefaults:Temperature", "0.7"),
            ("MoaGateway:Models:m:Layers:0:Agents:0", "groq/llama-3.3-70b-versatile"),
            ("MoaGateway:Models:m:Layers:0:Agents:1:Provider", "groq"),
            ("MoaGateway:Models:m:Layers:0:Agents:1:MaxTokens", "256"),
            ("MoaGateway:Models:m:Aggregator", "groq/qwen/qwen3-32b"),
            ("MoaGateway:Models:m:AggregatorFallbacks:0", "groq/openai/gpt-oss-120b"),
            ("MoaGateway:Models:m:Layers:0:Quorum", ""),
            ("MoaGateway:Auth:Keys:ci:AllowedModels:0", "m"),
            ("MoaGateway:Cors:AllowedOrigins", ""),
            ("Serilog:MinimumLevel:Default", "Warning")));
    }

    [Theory]
    [InlineData("MoaGateway:Modles:m:Aggregator", "MoaGateway:Modles is not a setting; did you mean Models?")]
    [InlineData("MoaGateway:Models:m:Layers:0:Agents:0:Temprature", "MoaGateway:Models:m:Layers:0:Agents:0:Temprature is not a setting; did you mean Temperature?")]
    [InlineData("MoaGateway:Models:m:AgentDefaults:MaxToken", "MoaGateway:Models:m:AgentDefaults:MaxToken is not a setting; did you mean MaxTokens?")]
    [InlineData("MoaGateway:Providers:groq:Retry:MaxRetires", "MoaGateway:Providers:groq:Retry:MaxRetires is not a setting; did you mean MaxRetries?")]
    [InlineData("MoaGateway:Limits:Burst", "MoaGateway:Limits:Burst is not a setting; the settings here are MaxConcurrentRequests, MaxMessages, MaxRequestBodyBytes, MaxTotalCharacters.")]
    [InlineData("MoaGatway:Models:m:Aggregator", "MoaGatway is not a section the gateway reads; did you mean MoaGateway?")]
    public void An_unknown_key_is_named_with_the_setting_it_probably_meant(string key, string expected) =>
        Assert.Equal([expected], Problems((key, "1")));

    [Theory]
    [InlineData("MoaGateway:Models:m:Layers:0:Agents:0:Temperature", "hot", "MoaGateway:Models:m:Layers:0:Agents:0:Temperature 'hot' is not a number.")]
    [InlineData("MoaGateway:KeepAliveSeconds", "abc", "MoaGateway:KeepAliveSeconds 'abc' is not a number.")]
    [InlineData("MoaGateway:Limits:MaxMessages", "1.5", "MoaGateway:Limits:MaxMessages '1.5' is not a whole number.")]
    [InlineData("MoaGateway:Readiness:ProbeProviders", "yes", "MoaGateway:Readiness:ProbeProviders 'yes' is not true or false.")]
    [InlineData("MoaGateway:RequestTimeoutSeconds", "", "MoaGateway:RequestTimeoutSeconds is empty: give a number, or leave it out for the default.")]
    [InlineData("MoaGateway:Limits", "5", "MoaGateway:Limits is a section of settings, not the value '5'.")]
    [InlineData("MoaGateway:Models:m:Layers", "all", "MoaGateway:Models:m:Layers is a list, not the value 'all'.")]
    [InlineData("MoaGateway:Models:m:Aggregator", "gpt-4o", "MoaGateway:Models:m:Aggregator 'gpt-4o' is not an agent: write '<provider>/<model>', or an object with Provider and Model.")]
    [InlineData("MoaGateway:Models:m:Aggregator", "", "MoaGateway:Models:m:Aggregator '' is not an agent: write '<provider>/<model>', or an object with Provider and Model.")]
    public void A_value_of_the_wrong_type_is_named_with_the_type_expected(string key, string value, string expected) =>
        Assert.Equal([expected], Problems((key, value)));

    [Fact]
    public void A_setting_that_takes_a_value_cannot_have_settings_below_it() => Assert.Equal(
        ["MoaGateway:KeepAliveSeconds takes a number, not settings of its own (MoaGateway:KeepAliveSeconds:Min)."],
        Problems(("MoaGateway:KeepAliveSeconds:Min", "1")));

    [Fact]
    public void A_list_entry_that_is_not_numbered_is_named() => Assert.Equal(
        ["MoaGateway:Models:m:Layers:first: Layers is a list, whose entries are numbered (Layers:0, Layers:1, ...)."],
        Problems(("MoaGateway:Models:m:Layers:first:MinAgents", "1")));

    [Fact]
    public void A_string_agent_that_an_override_gives_settings_is_refused_naming_the_agent()
    {
        var problem = Assert.Single(Problems(
            ("MoaGateway:Models:m:Layers:0:Agents:0", "groq/llama-3.3-70b-versatile"),
            ("MoaGateway:Models:m:Layers:0:Agents:0:Temperature", "0.2")));

        Assert.StartsWith(
            "MoaGateway:Models:m:Layers:0:Agents:0 is the agent 'groq/llama-3.3-70b-versatile', written as a string, and also has settings (Temperature).",
            problem,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_named_not_only_the_first() => Assert.Equal(3, Problems(
        ("MoaGateway:Modles:m:Aggregator", "p/m"),
        ("MoaGateway:KeepAliveSeconds", "abc"),
        ("MoaGateway:Providers:p:Retyr:MaxRetries", "1")).Count);
}
