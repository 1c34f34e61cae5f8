using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The gateway as a separate process, configured as an operator would: environment variables only.</summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Environment_variables_and_MOAGATEWAY_CONFIG_configure_the_process()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var extra = Path.Combine(Directory.CreateTempSubdirectory("moagateway-process-").FullName, "extra.json");
        await File.WriteAllTextAsync(extra, """{ "MoaGateway": { "Models": { "moa-lite": { "Description": "from the extra file" } } } }""");

        using var gateway = GatewayProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TOGETHER_API_KEY"] = "sk-from-environment",
            ["MoaGateway__Providers__together__BaseUrl"] = upstream.BaseUrl,
            ["MOAGATEWAY_CONFIG"] = extra,
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });
        await gateway.WaitUntilServingAsync();
        var model = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models/moa-lite"))!;

        Assert.Equal("from the extra file", model["moa"]!["description"]!.GetValue<string>());
        Assert.False(model["moa"]!["simulated"]!.GetValue<bool>());
        using var answer = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(7, upstream.Requests.Count);
        Assert.All(upstream.Requests, r => Assert.Equal("Bearer sk-from-environment", r.Header("Authorization")));
    }

    [Fact]
    public async Task The_keyless_local_server_recipe_serves_the_shipped_models_from_that_server()
    {
        // README: MoaGateway__Providers__together__BaseUrl=http://localhost:8000/v1 MoaGateway__Providers__together__ApiKeyEnv= dotnet run --project src/MoaGateway
        await using var local = await FakeUpstream.StartAsync();
        using var gateway = GatewayProcess.Start(new Dictionary<string, string>
        {
            ["MOAGATEWAY_DEFAULT_ENVIRONMENT"] = "Development",
            ["MoaGateway__Providers__together__BaseUrl"] = local.BaseUrl,
            ["MoaGateway__Providers__together__ApiKeyEnv"] = "",
        });
        await gateway.WaitUntilServingAsync();

        var model = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models/moa-lite"))!;
        using var answer = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.False(model["moa"]!["simulated"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(7, local.Requests.Count);
        Assert.All(local.Requests, request => Assert.Null(request.Header("Authorization")));
    }

    [Fact]
    public async Task A_local_server_declared_in_an_override_file_serves_an_alias()
    {
        // README: a provider with a BaseUrl and no ApiKeyEnv, and a model that is an alias of one of its models.
        await using var local = await FakeUpstream.StartAsync();
        var file = Path.Combine(Directory.CreateTempSubdirectory("moagateway-local-").FullName, "local.json");
        await File.WriteAllTextAsync(file, $$"""
            { "MoaGateway": {
                "Providers": { "vllm": { "BaseUrl": "{{local.BaseUrl}}" } },
                "Models": { "local": { "Aggregator": "vllm/Qwen/Qwen2.5-7B-Instruct" } } } }
            """);
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MOAGATEWAY_CONFIG"] = file;
        using var gateway = GatewayProcess.Start(environment);
        await gateway.WaitUntilServingAsync();

        using var answer = await gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"local","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("Qwen/Qwen2.5-7B-Instruct", Assert.Single(local.Requests).Model);
    }

    [Fact]
    public async Task Invalid_configuration_exits_with_code_1_and_names_the_key()
    {
        using var gateway = GatewayProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["MoaGateway__Models__moa-lite__Aggregator__Provider"] = "nowhere",
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });

        Assert.Equal(1, await gateway.ExitCodeAsync());
        Assert.Contains("MoaGateway:Models:moa-lite:Aggregator:Provider 'nowhere' is not a configured provider", gateway.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_lets_an_in_flight_stream_finish_and_the_process_exits_cleanly()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var release = new TaskCompletionSource();
        upstream.Reply("Qwen/Qwen2.5-72B-Instruct-Turbo", new FakeReply { Text = "finished after the signal", HoldAfterFirstToken = release.Task });
        using var gateway = GatewayProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TOGETHER_API_KEY"] = "sk-sigterm-test",
            ["MoaGateway__Providers__together__BaseUrl"] = upstream.BaseUrl,
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });
        await gateway.WaitUntilServingAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"moa-lite","stream":true,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reading = SseTranscript.ReadAsync(response);
        await Eventually.True(() => upstream.RequestsFor("Qwen/Qwen2.5-72B-Instruct-Turbo").Count == 1);

        var exiting = gateway.TerminateAsync();
        await Task.Delay(200);
        Assert.False(gateway.Process.HasExited, "the gateway exited with a stream still in flight");
        release.SetResult();
        var transcript = await reading;

        Assert.Equal(0, await exiting);
        Assert.True(transcript.EndedWithDone);
        Assert.Equal("finished after the signal", transcript.Content);
    }
}
