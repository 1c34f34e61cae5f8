using System.Net;
using System.Net.Sockets;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary><c>MoaGateway check</c>, run as the published binary is: validation as at start-up, a report, an exit code, no port.</summary>
public sealed class CheckCommandTests
{
    [Fact]
    public async Task Check_prints_the_resolved_models_and_exits_0_without_opening_a_port()
    {
        // The port check would listen on is taken: had it tried, it would have failed to start.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        using var check = GatewayProcess.Start(environment, arguments: ["check"]);

        Assert.Equal(0, await check.ExitCodeAsync());
        var report = check.OutputText;
        Assert.Contains("The configuration is valid (environment Production).", report, StringComparison.Ordinal);
        Assert.Contains(
            "together: SIMULATED, because environment variable MOA_TEST_UNSET_TOGETHER is not set. For real answers, set MOA_TEST_UNSET_TOGETHER; " +
            "for a local server that needs no key (Ollama, vLLM, llama.cpp), declare the provider keyless",
            report,
            StringComparison.Ordinal);
        Assert.Contains("moa: proposer layers 6 -> 6, 13 upstream call(s) per request, SIMULATED through together", report, StringComparison.Ordinal);
        Assert.Contains("moa-lite: proposer layers 6, 7 upstream call(s) per request", report, StringComparison.Ordinal);
        // String agents with the model's AgentDefaults; the aggregator's own MaxTokens wins over them.
        Assert.Contains(
            "      together/moonshotai/Kimi-K2-Instruct-0905 (temperature 0.7, max tokens 512, first token within 60 s, whole call within 120 s, simulated, so free)",
            report,
            StringComparison.Ordinal);
        Assert.Contains("    aggregator: together/Qwen/Qwen2.5-72B-Instruct-Turbo (temperature 0.7, max tokens 2048,", report, StringComparison.Ordinal);
        Assert.Contains("    fallback 1: together/meta-llama/Llama-3.3-70B-Instruct-Turbo (temperature 0.7, max tokens 2048,", report, StringComparison.Ordinal);
        Assert.Empty(check.Errors);
    }

    [Fact]
    public async Task Check_prints_each_agents_price_the_keys_budgets_and_where_limits_are_counted_without_connecting_to_redis()
    {
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MOA_TEST_CHECK_TOGETHER"] = "sk-never-sent";
        environment["MoaGateway__Providers__together__ApiKeyEnv"] = "MOA_TEST_CHECK_TOGETHER";
        environment["MoaGateway__Pricing__0__Model"] = "together/*";
        environment["MoaGateway__Pricing__0__InputPerMillion"] = "0.9";
        environment["MoaGateway__Pricing__0__OutputPerMillion"] = "1.1";
        environment["MoaGateway__Pricing__1__Model"] = "together/moonshotai/Kimi-K2-Instruct-0905";
        environment["MoaGateway__Pricing__1__InputPerMillion"] = "1.00";
        environment["MoaGateway__Pricing__1__CachedInputPerMillion"] = "0.5";
        environment["MoaGateway__Pricing__1__OutputPerMillion"] = "3.00";
        environment["MoaGateway__Auth__Keys__team__Sha256"] = new string('a', 64);
        environment["MoaGateway__Auth__Keys__team__RequestsPerMinute"] = "60";
        environment["MoaGateway__Auth__Keys__team__Budget__UsdPerDay"] = "25";
        // Nothing listens there: check must not try.
        environment["MoaGateway__SharedState__Redis"] = $"127.0.0.1:{FreePort.Pick()},password=never-printed";

        using var check = GatewayProcess.Start(environment, arguments: ["check"]);

        Assert.Equal(0, await check.ExitCodeAsync());
        var report = check.OutputText;
        Assert.Contains("together/moonshotai/Kimi-K2-Instruct-0905 (temperature 0.7, max tokens 512, first token within 60 s, whole call within 120 s, " +
                        "$1.00 in, $0.5 cached, $3.00 out per million tokens)", report, StringComparison.Ordinal);
        Assert.Contains("together/Qwen/Qwen2.5-72B-Instruct-Turbo (temperature 0.7, max tokens 512, first token within 60 s, whole call within 120 s, " +
                        "$0.9 in, $0.9 cached, $1.1 out per million tokens)", report, StringComparison.Ordinal);
        Assert.Contains("Client keys: team (60 requests a minute, $25 a day).", report, StringComparison.Ordinal);
        Assert.Contains("Limits and budgets counted: in Redis at 127.0.0.1:", report, StringComparison.Ordinal);
        Assert.Contains("shared by every replica (fail open, calls bounded by 500 ms, slots leased for 30 s).", report, StringComparison.Ordinal);
        Assert.DoesNotContain("never-printed", report, StringComparison.Ordinal);
        Assert.Empty(check.Errors);
    }

    [Fact]
    public async Task Check_exits_1_with_the_problems_and_no_report()
    {
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MoaGateway__Models__moa__Layers__0__Quorum"] = "9";

        using var check = GatewayProcess.Start(environment, arguments: ["check"]);

        Assert.Equal(1, await check.ExitCodeAsync());
        Assert.Contains("MoaGateway:Models:moa:Layers:0:Quorum must be between MinAgents (2) and the layer's 6 agents.", check.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("The configuration is valid", check.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_exported_ASPNETCORE_ENVIRONMENT_wins_over_the_launch_profile_default()
    {
        // The launch profile of dotnet run sets MOAGATEWAY_DEFAULT_ENVIRONMENT=Development.
        var environment = GatewayProcess.SimulatedEnvironment();
        environment.Remove("MoaGateway__SimulateProvidersWithoutKeys");
        environment["MOAGATEWAY_DEFAULT_ENVIRONMENT"] = "Development";

        using (var production = GatewayProcess.Start(environment, arguments: ["check"]))
        {
            Assert.Equal(1, await production.ExitCodeAsync());
            Assert.Contains("MoaGateway:Models:moa needs provider 'together'. Provider 'together' has no API key", production.Errors, StringComparison.Ordinal);
        }

        environment.Remove("ASPNETCORE_ENVIRONMENT");
        using var development = GatewayProcess.Start(environment, arguments: ["check"]);
        Assert.Equal(0, await development.ExitCodeAsync());
        Assert.Contains("The configuration is valid (environment Development).", development.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relative_MOAGATEWAY_CONFIG_is_read_from_the_current_directory_and_appsettings_json_from_beside_the_gateway()
    {
        var elsewhere = Directory.CreateTempSubdirectory("moagateway-cwd-").FullName;
        Directory.CreateDirectory(Path.Combine(elsewhere, "conf"));
        await File.WriteAllTextAsync(Path.Combine(elsewhere, "conf", "models.json"), """
            { "MoaGateway": { "Models": { "from-the-current-directory": { "Aggregator": "together/some-model" } } } }
            """);
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MOAGATEWAY_CONFIG"] = "conf/models.json";

        using var check = GatewayProcess.Start(environment, arguments: ["check"], workingDirectory: elsewhere);

        Assert.Equal(0, await check.ExitCodeAsync());
        Assert.Contains($"{Path.Combine(elsewhere, "conf", "models.json")}", check.OutputText, StringComparison.Ordinal);
        Assert.Contains("from-the-current-directory: an alias, no proposer layers, 1 upstream call(s) per request", check.OutputText, StringComparison.Ordinal);
        Assert.Contains("moa-lite: proposer layers 6", check.OutputText, StringComparison.Ordinal);
    }
}
