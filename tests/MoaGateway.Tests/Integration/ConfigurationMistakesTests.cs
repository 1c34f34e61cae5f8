using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Each kind of mistake a person makes in configuration stops the real process with exit code 1 and one message that
/// names the key (or the file and line), never a stack trace, whichever source the mistake came from.
/// </summary>
public sealed class ConfigurationMistakesTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("moagateway-mistakes-").FullName;

    /// <summary>A MOAGATEWAY_CONFIG file and what the refusal says about it; {file} stands for the file's path.</summary>
    public static TheoryData<string, string> FileMistakes => new()
    {
        {
            """{ "MoaGateway": { "Models": { "extra": { "Aggregator": { "Provider": "together", "Model": "m", "Temprature": 0.2 } } } } }""",
            "MoaGateway:Models:extra:Aggregator:Temprature is not a setting; did you mean Temperature? (in {file})"
        },
        {
            """{ "MoaGateway": { "Models": { "moa-lite": { "AgentDefaults": { "Temperature": "hot" } } } } }""",
            "MoaGateway:Models:moa-lite:AgentDefaults:Temperature 'hot' is not a number. (in {file})"
        },
        { "{\n  \"MoaGateway\": {\n    \"Models\": \n  }\n}\n", "Failed to load configuration from file '{file}': not valid JSON at line 4" },
        {
            """{ "MoaGateway": { "Providers": { "together": { "Models": [ "Qwen/Qwen2.5-72B-Instruct-Turbo", "" ] } } } }""",
            "MoaGateway:Providers:together:Models:1 is blank: give a model id as the provider spells it."
        },
        {
            """{ "MoaGateway": { "Providers": { "together": { "Models": [ "Qwen/Qwen2.5-72B-Instruct-Turbo", "m", "Qwen/Qwen2.5-72B-Instruct-Turbo" ] } } } }""",
            "MoaGateway:Providers:together:Models:2 'Qwen/Qwen2.5-72B-Instruct-Turbo' is listed already, as MoaGateway:Providers:together:Models:0."
        },
        {
            """{ "MoaGateway": { "Providers": { "together": { "Models": [ { "Id": "m" } ] } } } }""",
            "MoaGateway:Providers:together:Models:0 takes text, not settings of its own (MoaGateway:Providers:together:Models:0:Id). (in {file})"
        },
        {
            """{ "MoaGateway": { "Providers": { "together": { "Modles": [ "m" ] } } } }""",
            "MoaGateway:Providers:together:Modles is not a setting; did you mean Models? (in {file})"
        },
    };

    [Theory]
    [MemberData(nameof(FileMistakes))]
    public async Task A_mistake_in_the_MOAGATEWAY_CONFIG_file_is_named_with_the_file(string content, string expected)
    {
        var file = await WriteAsync("override.json", content);

        await AssertRefusedAsync(Environment(("MOAGATEWAY_CONFIG", file)), expected.Replace("{file}", file, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MoaGateway__Modles__extra__Aggregator", "together/m",
        "MoaGateway:Modles is not a setting; did you mean Models? (environment variable MoaGateway__Modles__extra__Aggregator)")]
    [InlineData("MoaGateway__Models__moa-lite__Layers__0__Agents__2__Temperature", "0.1",
        "MoaGateway:Models:moa-lite:Layers:0:Agents:2 is the agent 'together/mistralai/Mixtral-8x7B-Instruct-v0.1', written as a string")]
    public async Task A_mistake_in_an_environment_variable_is_named_with_the_variable(string variable, string value, string expected) =>
        await AssertRefusedAsync(Environment((variable, value)), expected);

    [Fact]
    public async Task An_unconvertible_value_on_the_command_line_is_named()
    {
        await AssertRefusedAsync(
            Environment(),
            "MoaGateway:KeepAliveSeconds 'abc' is not a number. (command line --MoaGateway:KeepAliveSeconds)",
            "--MoaGateway:KeepAliveSeconds=abc");
    }

    [Fact]
    public async Task A_MOAGATEWAY_CONFIG_file_that_does_not_exist_is_named()
    {
        var file = Path.Combine(_directory, "missing.json");

        await AssertRefusedAsync(Environment(("MOAGATEWAY_CONFIG", file)), $"{file}, named by MOAGATEWAY_CONFIG, does not exist.");
    }

    [Fact]
    public async Task An_appsettings_json_that_is_not_json_is_named_with_its_line()
    {
        var file = await WriteAsync("appsettings.json", "{\n  \"MoaGateway\": {\n    \"KeepAliveSeconds\": 2,,\n  }\n}\n");

        await AssertRefusedAsync(Environment(), $"Failed to load configuration from file '{file}': not valid JSON at line 3", $"--contentRoot={_directory}");
    }

    private static Dictionary<string, string> Environment(params (string Name, string Value)[] extra)
    {
        var environment = GatewayProcess.SimulatedEnvironment();
        foreach (var (name, value) in extra)
        {
            environment[name] = value;
        }

        return environment;
    }

    private async Task<string> WriteAsync(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        await File.WriteAllTextAsync(path, content);
        return path;
    }

    private static async Task AssertRefusedAsync(Dictionary<string, string> environment, string expected, params string[] arguments)
    {
        using var gateway = GatewayProcess.Start(environment, arguments: arguments);

        Assert.Equal(1, await gateway.ExitCodeAsync());
        Assert.StartsWith("MoaGateway cannot start: the configuration is invalid.", gateway.Errors, StringComparison.Ordinal);
        Assert.Contains(expected, gateway.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Errors + gateway.OutputText, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", gateway.Errors + gateway.OutputText, StringComparison.Ordinal);
    }
}
