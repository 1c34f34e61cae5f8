using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Changes to the MOAGATEWAY_CONFIG file reach the running gateway: validated whole first, applied to requests that
/// start afterwards, refused (and said so) when invalid. Each test has its own file, upstream and gateway.
/// </summary>
public sealed class ReloadTests : IAsyncLifetime, IDisposable
{
    /// <summary>What the issue promises: a change is served within this long.</summary>
    private static readonly TimeSpan ReloadBound = TimeSpan.FromSeconds(5);

    /// <summary>Provider settings under which two failures open <c>fake</c>'s circuits for longer than any test.</summary>
    private const string Breaker = """, "Retry": { "MaxRetries": 0 }, "CircuitBreaker": { "MinimumThroughput": 2, "BreakSeconds": 300 }""";

    private readonly string _directory = Directory.CreateTempSubdirectory("moagateway-reload-").FullName;
    private readonly ConcurrentQueue<long> _refusedDeltas = new();
    private readonly MeterListener _listener = new();
    private FakeUpstream _upstream = null!;

    public ReloadTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument is { Name: "moa.config.reload_refused", Meter.Name: "MoaGateway" })
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _refusedDeltas.Enqueue(value));
        _listener.Start();
    }

    private string ConfigPath => Path.Combine(_directory, "moagateway.json");

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task A_model_added_to_the_file_is_served_within_5_seconds_without_a_restart()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one")));
        await using var gateway = await StartAsync();
        Assert.Equal(["first"], await ModelIdsAsync(gateway));

        var changed = Stopwatch.StartNew();
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one"), ("second", "fake/two")));
        await Eventually.True(async () => (await ModelIdsAsync(gateway)).Contains("second"));
        var elapsed = changed.Elapsed;

        Assert.True(elapsed < ReloadBound, $"the new model was served after {elapsed.TotalSeconds:0.0} s");
        using var answer = await AskAsync(gateway, "second");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Single(_upstream.RequestsFor("two"));
    }

    [Fact]
    public async Task A_ConfigMap_update_that_swaps_the_data_symlink_is_served_within_5_seconds()
    {
        // The layout the kubelet gives a mounted ConfigMap: the file is a link into ..data, itself a link to a
        // timestamped directory, and an update swaps ..data to a new directory in one rename.
        var mount = Directory.CreateDirectory(Path.Combine(_directory, "config")).FullName;
        await WriteConfigMapVersionAsync(mount, "..2026_01_01_00_00_00.1", Config(_upstream, ("first", "fake/one")));
        File.CreateSymbolicLink(Path.Combine(mount, "..data"), "..2026_01_01_00_00_00.1");
        File.CreateSymbolicLink(Path.Combine(mount, "moagateway.json"), "..data/moagateway.json");
        await using var gateway = await StartAsync(Path.Combine(mount, "moagateway.json"));
        Assert.Equal(["first"], await ModelIdsAsync(gateway));

        var changed = Stopwatch.StartNew();
        await WriteConfigMapVersionAsync(mount, "..2026_01_01_00_01_00.2", Config(_upstream, ("first", "fake/one"), ("second", "fake/two")));
        File.CreateSymbolicLink(Path.Combine(mount, "..data_tmp"), "..2026_01_01_00_01_00.2");
        await RenameAsync(Path.Combine(mount, "..data_tmp"), Path.Combine(mount, "..data"));
        Directory.Delete(Path.Combine(mount, "..2026_01_01_00_00_00.1"), recursive: true);
        await Eventually.True(async () => (await ModelIdsAsync(gateway)).Contains("second"));

        Assert.True(changed.Elapsed < ReloadBound, $"the new model was served after {changed.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task An_invalid_reload_keeps_the_last_good_configuration_serving_and_shows_in_readyz_and_a_metric_until_a_valid_one()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one")));
        await using var gateway = await StartAsync();

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one")).Replace("\"Aggregator\"", "\"Agregator\"", StringComparison.Ordinal));
        var refused = await EventuallyReadyAsync(gateway, ready => ready["checks"]!["configuration"]!["status"]!.GetValue<string>() == "degraded");

        Assert.Equal("degraded", refused["status"]!.GetValue<string>());
        Assert.Contains("MoaGateway:Models:first:Agregator is not a setting; did you mean Aggregator?",
            refused["checks"]!["configuration"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, _refusedDeltas.Sum());
        using (var stillServed = await AskAsync(gateway, "first"))
        {
            Assert.Equal(HttpStatusCode.OK, stillServed.StatusCode);
        }

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one"), ("second", "fake/two")));
        var applied = await EventuallyReadyAsync(gateway, ready => ready["status"]!.GetValue<string>() == "healthy");

        Assert.StartsWith("serving generation 2", applied["checks"]!["configuration"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["first", "second"], await ModelIdsAsync(gateway));
        Assert.Equal(0, _refusedDeltas.Sum());
    }

    [Fact]
    public async Task An_in_flight_stream_finishes_on_the_configuration_it_started_with()
    {
        await using var next = await FakeUpstream.StartAsync();
        var release = new TaskCompletionSource();
        _upstream.Reply("slow", new FakeReply { Text = "old configuration", HoldAfterFirstToken = release.Task });
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("m", "fake/slow")));
        await using var gateway = await StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        };
        using var stream = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reading = SseTranscript.ReadAsync(stream);
        await Eventually.True(() => _upstream.RequestsFor("slow").Count == 1);

        // The provider moves to another upstream and the model to another aggregator.
        await File.WriteAllTextAsync(ConfigPath, Config(next, ("m", "fake/fresh")));
        await EventuallyReadyAsync(gateway, ready => ready["checks"]!["configuration"]!["description"]!.GetValue<string>().StartsWith("serving generation 2", StringComparison.Ordinal));
        using (var after = await AskAsync(gateway, "m"))
        {
            Assert.Equal(FakeUpstream.DefaultText("fresh"), JsonNode.Parse(await after.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        }

        release.SetResult();
        var transcript = await reading;

        Assert.True(transcript.EndedWithDone);
        Assert.Equal("old configuration", transcript.Content);
        Assert.Single(_upstream.Requests);
        Assert.Single(next.Requests);
    }

    [Fact]
    public async Task An_unchanged_provider_keeps_its_open_circuit_across_a_reload_and_a_changed_one_starts_afresh()
    {
        await using var gateway = await StartWithAnOpenCircuitAsync();

        Assert.Contains("circuit open", await ErrorOfAsync(gateway, "m"), StringComparison.Ordinal);
        Assert.Equal(2, _upstream.Requests.Count);

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, Breaker, ("m", "fake/flaky"), ("other", "fake/one")));
        await Eventually.True(async () => (await ModelIdsAsync(gateway)).Contains("other"));
        Assert.Contains("circuit open", await ErrorOfAsync(gateway, "m"), StringComparison.Ordinal);
        Assert.Equal(2, _upstream.Requests.Count);

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, Breaker + """, "TimeoutSeconds": 90""", ("m", "fake/flaky"), ("other", "fake/one")));
        await EventuallyReadyAsync(gateway, ready => ready["checks"]!["configuration"]!["description"]!.GetValue<string>().StartsWith("serving generation 3", StringComparison.Ordinal));
        Assert.Contains("scripted failure of flaky", await ErrorOfAsync(gateway, "m"), StringComparison.Ordinal);
        Assert.Equal(3, _upstream.Requests.Count);
    }

    [Fact]
    public async Task Models_a_reload_lists_for_a_provider_are_served_and_the_provider_keeps_its_open_circuit()
    {
        await using var gateway = await StartWithAnOpenCircuitAsync();

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, Breaker + """, "Models": [ "flaky", "Qwen/Qwen2.5-72B" ]""", ("m", "fake/flaky")));
        await Eventually.True(async () => (await ModelIdsAsync(gateway)).Contains("fake/flaky"));

        Assert.Equal(["m", "fake/flaky", "fake/Qwen/Qwen2.5-72B"], await ModelIdsAsync(gateway));
        Assert.Contains("circuit open", await ErrorOfAsync(gateway, "m"), StringComparison.Ordinal);
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task A_reload_that_lists_a_model_twice_is_refused_naming_the_entry_and_the_last_list_stays()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, """, "Models": [ "one" ]""", ("m", "fake/one")));
        await using var gateway = await StartAsync();

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, """, "Models": [ "one", "two", "one" ]""", ("m", "fake/one")));
        var refused = await EventuallyReadyAsync(gateway, ready => ready["checks"]!["configuration"]!["status"]!.GetValue<string>() == "degraded");

        Assert.Contains("MoaGateway:Providers:fake:Models:2 'one' is listed already, as MoaGateway:Providers:fake:Models:0.",
            refused["checks"]!["configuration"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["m", "fake/one"], await ModelIdsAsync(gateway));
    }

    [Fact]
    public async Task Client_keys_added_by_a_reload_are_required_from_the_next_request_on()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("m", "fake/one")));
        await using var gateway = await StartAsync();
        using (var open = await gateway.Http.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        }

        var keyed = JsonNode.Parse(Config(_upstream, ("m", "fake/one")))!;
        keyed["MoaGateway"]!["Auth"] = new JsonObject { ["Keys"] = new JsonObject { ["ops"] = new JsonObject { ["Sha256"] = Sha256("sk-reloaded") } } };
        await File.WriteAllTextAsync(ConfigPath, keyed.ToJsonString());
        await Eventually.True(async () =>
        {
            using var response = await gateway.Http.GetAsync("/v1/models");
            return response.StatusCode == HttpStatusCode.Unauthorized;
        });

        using var withKey = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "Authorization", "Bearer sk-reloaded" } } };
        using var allowed = await gateway.Http.SendAsync(withKey);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task A_refused_reload_is_logged_naming_each_bad_key_and_the_valid_one_after_it_as_applied()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one")));
        using var gateway = GatewayProcess.Start(ProcessEnvironment());
        await gateway.WaitUntilServingAsync();

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one"), ("broken", "nowhere/two")).Replace("\"Providers\"", "\"Provider\"", StringComparison.Ordinal));
        var refused = await LogLineAsync(gateway, "Configuration reload refused");

        Assert.Contains("MoaGateway:Provider is not a setting; did you mean Providers?", refused, StringComparison.Ordinal);
        Assert.Contains("MoaGateway:Models:broken:Aggregator:Provider 'nowhere' is not a configured provider", refused, StringComparison.Ordinal);
        using (var stillServed = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "first", messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, stillServed.StatusCode);
        }

        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one"), ("second", "fake/two")));
        var applied = await LogLineAsync(gateway, "Configuration reloaded");

        Assert.Contains("second", applied, StringComparison.Ordinal);
        Assert.Equal(0, gateway.Process.HasExited ? gateway.Process.ExitCode : 0);
    }

    [Fact]
    public async Task A_host_setting_changed_in_a_file_is_logged_as_needing_a_restart()
    {
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, ("first", "fake/one")));
        using var gateway = GatewayProcess.Start(ProcessEnvironment());
        await gateway.WaitUntilServingAsync();

        var changed = JsonNode.Parse(Config(_upstream, ("first", "fake/one")))!;
        changed["MoaGateway"]!["ShutdownDrainSeconds"] = 5;
        await File.WriteAllTextAsync(ConfigPath, changed.ToJsonString());

        Assert.Contains("MoaGateway:ShutdownDrainSeconds",
            await LogLineAsync(gateway, "it is read only at start-up, so it takes effect after a restart"), StringComparison.Ordinal);
    }

    /// <summary>A keyless provider <c>fake</c> at <paramref name="upstream"/>, and models that are aliases of one agent each.</summary>
    internal static string Config(FakeUpstream upstream, params (string Id, string Agent)[] models) => Config(upstream, "", models);

    internal static string Config(FakeUpstream upstream, string providerSettings, params (string Id, string Agent)[] models) => $$"""
        {
          "MoaGateway": {
            "Providers": { "fake": { "BaseUrl": "{{upstream.BaseUrl}}"{{providerSettings}} } },
            "Models": { {{string.Join(", ", models.Select(model => $$"""  "{{model.Id}}": { "Aggregator": "{{model.Agent}}" }"""))}} }
          }
        }
        """;

    private Dictionary<string, string> ProcessEnvironment()
    {
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MOAGATEWAY_CONFIG"] = ConfigPath;
        return environment;
    }

    /// <summary>The first line of the process's log that contains <paramref name="text"/>, whatever the log's format.</summary>
    private static async Task<string> LogLineAsync(GatewayProcess gateway, string text)
    {
        string? line = null;
        await Eventually.True(() => (line = gateway.Output.FirstOrDefault(candidate => candidate.Contains(text, StringComparison.Ordinal))) is not null);
        return line!;
    }

    private static string Sha256(string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A gateway whose model <c>m</c> is the provider <c>fake</c>'s model <c>flaky</c>, failed until its circuit opened.</summary>
    private async Task<GatewayHost> StartWithAnOpenCircuitAsync()
    {
        _upstream.Reply("flaky", new FakeReply { Status = 503 });
        await File.WriteAllTextAsync(ConfigPath, Config(_upstream, Breaker, ("m", "fake/flaky")));
        var gateway = await StartAsync();
        for (var i = 0; i < 2; i++)
        {
            using var failed = await AskAsync(gateway, "m");
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        return gateway;
    }

    private Task<GatewayHost> StartAsync(string? configPath = null) =>
        GatewayHost.StartAsync(new GatewaySettings().Set("MOAGATEWAY_CONFIG", configPath ?? ConfigPath));

    private static async Task<List<string>> ModelIdsAsync(GatewayHost gateway) =>
        [.. JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().Select(model => model!["id"]!.GetValue<string>())];

    private static Task<HttpResponseMessage> AskAsync(GatewayHost gateway, string model) =>
        gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Hi" } } });

    private static async Task<string> ErrorOfAsync(GatewayHost gateway, string model)
    {
        using var response = await AskAsync(gateway, model);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>();
    }

    private static async Task<JsonNode> EventuallyReadyAsync(GatewayHost gateway, Func<JsonNode, bool> condition)
    {
        JsonNode ready = null!;
        await Eventually.True(async () =>
        {
            ready = JsonNode.Parse(await gateway.Http.GetStringAsync("/readyz"))!;
            return condition(ready);
        });
        return ready;
    }

    private static async Task WriteConfigMapVersionAsync(string mount, string version, string content)
    {
        Directory.CreateDirectory(Path.Combine(mount, version));
        await File.WriteAllTextAsync(Path.Combine(mount, version, "moagateway.json"), content);
    }

    /// <summary>rename(2), as the kubelet swaps ..data; .NET's File.Move follows a link to a directory instead of renaming it.</summary>
    private static async Task RenameAsync(string from, string to)
    {
        using var mv = Process.Start("mv", ["-T", from, to]);
        await mv.WaitForExitAsync();
        Assert.Equal(0, mv.ExitCode);
    }
}
