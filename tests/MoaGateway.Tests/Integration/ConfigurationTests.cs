using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>The shipped appsettings.json and the standard ways to override it, on the real host.</summary>
public sealed class ConfigurationTests
{
    /// <summary>The repository's appsettings.json, copied beside the tests by the build.</summary>
    private static GatewaySettings Shipped(string environment) => new GatewaySettings()
        .Set("contentRoot", AppContext.BaseDirectory)
        .Set("environment", environment)
        // Point the shipped key variables at names no machine sets, so the tests never see a developer's real keys.
        .Set("MoaGateway:Providers:together:ApiKeyEnv", "MOA_TEST_UNSET_TOGETHER")
        .Set("MoaGateway:Providers:openai:ApiKeyEnv", "MOA_TEST_UNSET_OPENAI")
        .Set("MoaGateway:Providers:groq:ApiKeyEnv", "MOA_TEST_UNSET_GROQ")
        .Set("MoaGateway:Providers:together:Simulation:TimeToFirstTokenMs", "0")
        .Set("MoaGateway:Providers:together:Simulation:TokensPerSecond", "0");

    [Fact]
    public async Task Development_without_keys_serves_the_shipped_models_from_the_simulator_and_says_so()
    {
        await using var gateway = await GatewayHost.StartAsync(Shipped("Development"));

        var models = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        Assert.Equal(["moa", "moa-lite", "self-moa"], models.Select(m => m!["id"]!.GetValue<string>()));
        Assert.All(models, m => Assert.Equal("moagateway (simulated)", m!["owned_by"]!.GetValue<string>()));

        foreach (var (model, aggregator, calls) in new[]
                 {
                     ("moa-lite", "Qwen/Qwen2.5-72B-Instruct-Turbo", 7),
                     ("moa", "Qwen/Qwen3-235B-A22B-Instruct-2507-tput", 13),
                     // Self-MoA: six samples of the aggregator's own model.
                     ("self-moa", "Qwen/Qwen3-235B-A22B-Instruct-2507-tput", 7),
                 })
        {
            var text = "";
            ChatTokenUsage? usage = null;
            var fingerprints = new HashSet<string?>();
            await foreach (var update in gateway.ChatClient(model).CompleteChatStreamingAsync([new UserChatMessage("Why is the sky blue?")]))
            {
                text += string.Concat(update.ContentUpdate.Select(p => p.Text));
                usage ??= update.Usage;
                fingerprints.Add(update.SystemFingerprint);
            }

            // The answer says it is simulated to whoever reads it, and to code, in system_fingerprint.
            Assert.StartsWith($"[simulated {aggregator}] Synthesis of 6 responses:", text, StringComparison.Ordinal);
            Assert.Equal(["moagateway-simulated"], fingerprints);
            // The simulator writes 40 tokens per answer and counts them honestly.
            Assert.Equal(calls * 40, usage!.OutputTokenCount);
        }
    }

    [Fact]
    public async Task Production_without_keys_refuses_to_start_naming_the_variable()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(Shipped("Production")));

        Assert.Contains("MoaGateway:Models:moa needs provider 'together'", error.Message, StringComparison.Ordinal);
        Assert.Contains("MOA_TEST_UNSET_TOGETHER is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains("SimulateProvidersWithoutKeys", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_falls_back_to_the_simulator_only_when_told_to()
    {
        await using var gateway = await GatewayHost.StartAsync(Shipped("Production").Set("MoaGateway:SimulateProvidersWithoutKeys", "true"));

        var model = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models/moa"))!;

        Assert.True(model["moa"]!["simulated"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Shipped_models_can_be_repointed_at_another_endpoint_from_the_command_line()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Shipped("Production").Provider("together", upstream));

        ChatCompletion answer = await gateway.ChatClient("moa-lite").CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal(FakeUpstream.DefaultText("Qwen/Qwen2.5-72B-Instruct-Turbo"), answer.Content[0].Text);
        Assert.Equal(7, upstream.Requests.Count);
        Assert.Contains(upstream.Requests, r => r.Model == "deepseek-ai/DeepSeek-V3");
        Assert.All(upstream.Requests, r => Assert.StartsWith("Bearer sk-upstream-", r.Header("Authorization"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shipped_self_moa_samples_one_model_six_times_and_aggregates_the_six_answers_with_it()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Shipped("Production").Provider("together", upstream));

        ChatCompletion answer = await gateway.ChatClient("self-moa").CompleteChatAsync([new UserChatMessage("Hi")]);

        const string model = "Qwen/Qwen3-235B-A22B-Instruct-2507-tput";
        Assert.Equal(FakeUpstream.DefaultText(model), answer.Content[0].Text);
        var samples = upstream.Requests.Where(r => r.Json.ContainsKey("seed")).ToList();
        Assert.Equal(6, samples.Count);
        Assert.All(samples, r => Assert.Equal((model, 0.7), (r.Model, Math.Round(r.Json["temperature"]!.GetValue<double>(), 3))));
        Assert.Equal(6, samples.Select(r => r.Json["seed"]!.GetValue<long>()).Distinct().Count());
        var aggregator = Assert.Single(upstream.Requests, r => !r.Json.ContainsKey("seed"));
        Assert.Equal(model, aggregator.Model);
        Assert.Contains("\n6. answer from " + model + " (seed ", aggregator.SystemText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Extra_config_file_adds_models_over_the_shipped_file()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var extra = Path.Combine(Directory.CreateTempSubdirectory("moagateway-config-").FullName, "models.json");
        await File.WriteAllTextAsync(extra, """
            {
              "MoaGateway": {
                "Models": {
                  "house-blend": {
                    "Layers": [ { "Agents": [ { "Provider": "together", "Model": "tiny-1" }, { "Provider": "together", "Model": "tiny-2" } ] } ],
                    "Aggregator": { "Provider": "together", "Model": "tiny-agg" }
                  }
                }
              }
            }
            """);

        await using var gateway = await GatewayHost.StartAsync(Shipped("Production").Provider("together", upstream).Set("MOAGATEWAY_CONFIG", extra));

        var ids = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        Assert.Equal(["house-blend", "moa", "moa-lite", "self-moa"], ids);
        using var response = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "house-blend", messages = new[] { new { role = "user", content = "Hi" } } });
        response.EnsureSuccessStatusCode();
        Assert.Equal(["tiny-1", "tiny-2", "tiny-agg"], upstream.Requests.Select(r => r.Model).Order());
    }

    public static TheoryData<string, string, string> InvalidSettings => new()
    {
        { "MoaGateway:Models:m:Layers:0:Agents:0:Provider", "typo", "MoaGateway:Models:m:Layers:0:Agents:0:Provider 'typo' is not a configured provider (known: fake)" },
        { "MoaGateway:Models:m:Aggregator:Provider", "", "MoaGateway:Models:m:Aggregator:Provider is required" },
        { "MoaGateway:Providers:fake:BaseUrl", "not a url", "MoaGateway:Providers:fake:BaseUrl 'not a url' is not an absolute http(s) URL" },
        { "MoaGateway:Providers:fake:Type", "grpc", "MoaGateway:Providers:fake:Type 'grpc' is not supported" },
        { "MoaGateway:Auth:Keys:ci:KeyEnv", "MOA_TEST_UNSET_CLIENT_KEY", "MoaGateway:Auth:Keys:ci:KeyEnv names environment variable MOA_TEST_UNSET_CLIENT_KEY, which is not set" },
        { "MoaGateway:Auth:Keys:ci:Sha256", "not-a-hash", "MoaGateway:Auth:Keys:ci:Sha256 must be 64 hexadecimal characters" },
        { "MoaGateway:Cors:AllowedOrigins:0", "https://app.example.com/", "MoaGateway:Cors:AllowedOrigins:0 'https://app.example.com/' is not an origin" },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public async Task Invalid_configuration_refuses_to_start_naming_the_key(string key, string value, string expected)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var settings = new GatewaySettings().Provider("fake", upstream).Model("m", [["a"]], "agg").Set(key, value);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(settings));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static async Task StartAsync(GatewaySettings settings)
    {
        await using var gateway = await GatewayHost.StartAsync(settings);
    }
}
