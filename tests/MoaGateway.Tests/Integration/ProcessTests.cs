using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>The gateway as a separate process, configured as an operator would: environment variables only.</summary>
public sealed class ProcessTests
{
    private static readonly string GatewayDll = Path.Combine(AppContext.BaseDirectory, "MoaGateway.dll");

    [Fact]
    public async Task Environment_variables_and_MOAGATEWAY_CONFIG_configure_the_process()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var extra = Path.Combine(Directory.CreateTempSubdirectory("moagateway-process-").FullName, "extra.json");
        await File.WriteAllTextAsync(extra, """{ "MoaGateway": { "Models": { "moa-lite": { "Description": "from the extra file" } } } }""");
        var port = FreePort();

        using var gateway = Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TOGETHER_API_KEY"] = "sk-from-environment",
            ["MoaGateway__Providers__together__BaseUrl"] = upstream.BaseUrl,
            ["MOAGATEWAY_CONFIG"] = extra,
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var model = await WaitForAsync(http, "/v1/models/moa-lite", gateway);

        Assert.Equal("from the extra file", model["moa"]!["description"]!.GetValue<string>());
        Assert.False(model["moa"]!["simulated"]!.GetValue<bool>());
        using var answer = await http.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"moa-lite","messages":[{"role":"user","content":"Hi"}]}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(7, upstream.Requests.Count);
        Assert.All(upstream.Requests, r => Assert.Equal("Bearer sk-from-environment", r.Header("Authorization")));
    }

    [Fact]
    public async Task Invalid_configuration_exits_with_code_1_and_names_the_key()
    {
        using var gateway = Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["MoaGateway__Models__moa-lite__Aggregator__Provider"] = "nowhere",
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });
        var stderr = gateway.StandardError.ReadToEndAsync();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await gateway.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, gateway.ExitCode);
        Assert.Contains("MoaGateway:Models:moa-lite:Aggregator:Provider 'nowhere' is not a configured provider", await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_lets_an_in_flight_stream_finish_and_the_process_exits_cleanly()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var release = new TaskCompletionSource();
        upstream.Reply("Qwen/Qwen2.5-72B-Instruct-Turbo", new FakeReply { Text = "finished after the signal", HoldAfterFirstToken = release.Task });
        var port = FreePort();
        using var gateway = Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["TOGETHER_API_KEY"] = "sk-sigterm-test",
            ["MoaGateway__Providers__together__BaseUrl"] = upstream.BaseUrl,
            ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await WaitForAsync(http, "/v1/models", gateway);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"moa-lite","stream":true,"messages":[{"role":"user","content":"Hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reading = SseTranscript.ReadAsync(response);
        await Eventually.True(() => upstream.RequestsFor("Qwen/Qwen2.5-72B-Instruct-Turbo").Count == 1);

        using (var kill = Process.Start("kill", ["-TERM", gateway.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await Task.Delay(200);
        Assert.False(gateway.HasExited, "the gateway exited with a stream still in flight");
        release.SetResult();
        var transcript = await reading;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await gateway.WaitForExitAsync(timeout.Token);

        Assert.True(transcript.EndedWithDone);
        Assert.Equal("finished after the signal", transcript.Content);
        Assert.Equal(0, gateway.ExitCode);
    }

    private static Process Start(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [GatewayDll])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private static async Task<JsonNode> WaitForAsync(HttpClient http, string path, Process gateway)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        try
        {
            while (true)
            {
                try
                {
                    return JsonNode.Parse(await http.GetStringAsync(path))!;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline && !gateway.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }
        finally
        {
            if (gateway.HasExited)
            {
                Assert.Fail($"the gateway exited with {gateway.ExitCode}: {await gateway.StandardError.ReadToEndAsync()}");
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
