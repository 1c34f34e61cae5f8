using System.Globalization;

namespace MoaGateway.Bench;

/// <summary>Where the programs under test are.</summary>
internal sealed record Programs(string GatewayDll, string UpstreamDll, string? PortkeyScript);

/// <summary>
/// One run: the bench upstream and one gateway process for every scenario, each scenario sent straight to the
/// upstream, then through the gateway (and through Portkey where asked).
/// </summary>
internal sealed class BenchRun : IDisposable
{
    private const string Provider = "bench";

    /// <summary>
    /// Load before any figure is taken, so that the JIT has finished its tiers: on two busy cores a fresh process needs
    /// some 20 s at full load before its CPU cost per request stops falling.
    /// </summary>
    private static readonly TimeSpan JitWarmup = TimeSpan.FromSeconds(12);

    private readonly ChildProcess _upstream;
    private readonly ChildProcess _gateway;
    private readonly HttpClient _http;
    private readonly string? _portkeyScript;

    private BenchRun(ChildProcess upstream, ChildProcess gateway, HttpClient http, string? portkeyScript, double startupRssMb, double upstreamStartupRssMb)
    {
        GatewayEnvironment = GatewayEnvironmentFor(upstream.BaseUri);
        _upstream = upstream;
        _gateway = gateway;
        _http = http;
        _portkeyScript = portkeyScript;
        StartupRssMb = startupRssMb;
        UpstreamStartupRssMb = upstreamStartupRssMb;
    }

    /// <summary>The gateway's configuration: the bench provider with short timeouts, and the mixtures on it.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment { get; }

    /// <summary>The gateway's resident memory a second after it started serving, before any request.</summary>
    public double StartupRssMb { get; }

    /// <summary>
    /// The bench upstream's resident memory at the same moment: an ASP.NET Core process on Kestrel alone with one request
    /// handler, so what this runtime needs at rest on this machine before anything a gateway adds.
    /// </summary>
    public double UpstreamStartupRssMb { get; }

    private Uri UpstreamChat => new(_upstream.BaseUri, "v1/chat/completions");

    private Uri GatewayChat => new(_gateway.BaseUri, "v1/chat/completions");

    private Uri GatewayResponses => new(_gateway.BaseUri, "v1/responses");

    private static Dictionary<string, string> GatewayEnvironmentFor(Uri upstream) => new Dictionary<string, string>
    {
        ["ASPNETCORE_URLS"] = "http://127.0.0.1:{port}",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        // Logging is not what is measured.
        ["Serilog__MinimumLevel__Default"] = "Warning",
        // The shipped models name providers without keys here; they are never called.
        ["MoaGateway__SimulateProvidersWithoutKeys"] = "true",
        ["MoaGateway__RequestTimeoutSeconds"] = "30",
        [$"MoaGateway__Providers__{Provider}__BaseUrl"] = new Uri(upstream, "v1").ToString(),
        [$"MoaGateway__Providers__{Provider}__FirstTokenTimeoutSeconds"] = "5",
        [$"MoaGateway__Providers__{Provider}__TimeoutSeconds"] = "10",
        // One provider serves all six proposers: its call slots (a deliberate throttle, 256 by default) must not queue them.
        [$"MoaGateway__Providers__{Provider}__MaxConcurrentCalls"] = "4096",
    }.Concat(Scenarios.Mixtures.SelectMany(mixture => mixture.GatewayEnvironment(Provider))).ToDictionary();

    /// <summary>Starts the upstream and the gateway, notes the gateway's memory at rest, and warms both and the driver up.</summary>
    public static async Task<BenchRun> StartAsync(Programs programs, HttpClient http)
    {
        var upstream = await StartAsync("bench upstream", "dotnet", programs.UpstreamDll, ["--port", "{port}"], new Dictionary<string, string>(), "");
        try
        {
            var gateway = await StartAsync("gateway", "dotnet", programs.GatewayDll, [], GatewayEnvironmentFor(upstream.BaseUri), "healthz");
            await Task.Delay(TimeSpan.FromSeconds(1));
            var run = new BenchRun(upstream, gateway, http, programs.PortkeyScript, gateway.Usage().RssMb, upstream.Usage().RssMb);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gateway at rest after start-up: {run.StartupRssMb:0.0} MB (the bench upstream: {run.UpstreamStartupRssMb:0.0} MB); warming up for {JitWarmup.TotalSeconds * 3:0} s"));
            await WarmUpAsync(Senders.Single(http, run.GatewayChat, $"{Provider}/{Scenarios.Unpaced.Name("pt")}"));
            await WarmUpAsync(Senders.Single(http, run.GatewayChat, Scenarios.Warmup.ModelId));
            await WarmUpAsync(Senders.Single(http, run.GatewayResponses, Scenarios.Warmup.ModelId, api: ClientApi.Responses));
            await RestAsync(gateway);
            return run;
        }
        catch
        {
            upstream.Dispose();
            throw;
        }
    }

    public async Task<ScenarioResult> RunAsync(Scenario scenario)
    {
        Console.WriteLine($"{scenario.Name}: {scenario.Description}; {scenario.Measured.Requests} requests at most, {scenario.Measured.MaxDuration.TotalSeconds:0} s at most, after {scenario.Warmup} warm-up");
        var direct = await MeasureAsync("direct", DirectSender(scenario), scenario, server: null);
        var gateway = await MeasureAsync(
            "gateway",
            Senders.Single(
                _http,
                scenario.Api == ClientApi.Responses ? GatewayResponses : GatewayChat,
                scenario.Mixture?.ModelId ?? $"{Provider}/{PassThroughModel(scenario)}",
                api: scenario.Api,
                includeProposals: scenario.IncludeProposals),
            scenario,
            _gateway);

        SideResult? portkeySide = null;
        if (scenario.AlsoPortkey && _portkeyScript is { } script)
        {
            using var portkey = await StartAsync("portkey", "node", script, ["--port={port}"], new Dictionary<string, string>(), "");
            KeyValuePair<string, string>[] headers =
            [
                new("x-portkey-provider", "openai"),
                new("x-portkey-custom-host", new Uri(_upstream.BaseUri, "v1").ToString().TrimEnd('/')),
                new("Authorization", "Bearer bench"),
            ];
            var send = Senders.Single(_http, new Uri(portkey.BaseUri, "v1/chat/completions"), PassThroughModel(scenario), headers);
            await WarmUpAsync(send);
            portkeySide = await MeasureAsync("portkey", send, scenario, portkey);
        }

        var result = new ScenarioResult(
            scenario.Name, scenario.Description, scenario.Measured.Concurrency, scenario.Warmup, scenario.CriticalPathMs, scenario.CriticalFirstTokenMs,
            direct, gateway, portkeySide);
        Console.WriteLine(Summary(result));
        return result;
    }

    public void Dispose()
    {
        _gateway.Dispose();
        _upstream.Dispose();
    }

    private Sender DirectSender(Scenario scenario) => scenario.Mixture is { } mixture
        ? Senders.DirectMixture(_http, UpstreamChat, mixture)
        : Senders.Single(_http, UpstreamChat, PassThroughModel(scenario));

    private static string PassThroughModel(Scenario scenario) => scenario.Single!.Value.Name("pt");

    private static async Task<ChildProcess> StartAsync(
        string name, string program, string entryFile, string[] arguments, IReadOnlyDictionary<string, string> environment, string readyPath)
    {
        var process = ChildProcess.Start(name, program, entryFile, arguments, environment);
        try
        {
            await process.WaitUntilServingAsync(readyPath);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static async Task WarmUpAsync(Sender send)
    {
        var warmup = await Load.RunAsync(send, new LoadShape(64, int.MaxValue, JitWarmup));
        if (warmup.Samples.FirstOrDefault(sample => !sample.Ok) is { Error: { } error })
        {
            throw new InvalidOperationException($"Warming up failed: {warmup.Samples.Count(sample => !sample.Ok)} errors, first: {error}");
        }
    }

    /// <summary>
    /// A second's rest, and for a server until a second passes in which it used under 5% of a core (up to 20 s): after
    /// a load a .NET process works on by itself for a while, compiling its last JIT tiers and returning memory, and none
    /// of that belongs to the next requests.
    /// </summary>
    private static async Task RestAsync(ChildProcess? server)
    {
        var waited = TimeSpan.Zero;
        var cpu = server?.Usage().CpuSeconds ?? 0;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            waited += TimeSpan.FromSeconds(1);
            var previous = cpu;
            cpu = server?.Usage().CpuSeconds ?? 0;
            if (cpu - previous <= 0.05)
            {
                return;
            }
        }
        while (waited < TimeSpan.FromSeconds(20));

        Console.WriteLine($"  {server!.Name} still busy after {waited.TotalSeconds:0} s of rest");
    }

    /// <summary>
    /// The scenario's warm-up (not counted), a rest until the server is idle, then the measured load, with the server's CPU time before
    /// and after, its memory at rest before the load and sampled during it, and its peak during it.
    /// </summary>
    private async Task<SideResult> MeasureAsync(string via, Sender send, Scenario scenario, ChildProcess? server)
    {
        var warmup = await Load.RunAsync(send, scenario.WarmupShape);
        if (warmup.Samples.FirstOrDefault(sample => !sample.Ok) is { Error: { } error })
        {
            Console.WriteLine($"  {via} warm-up: {warmup.Samples.Count(sample => !sample.Ok)} errors, first: {error}");
        }

        await RestAsync(server);
        var rested = server?.Usage();
        server?.ResetPeakMemory();
        var upstreamBefore = _upstream.Usage().CpuSeconds;
        using var sampler = server is null ? null : new ProcessSampler(server);
        var load = await Load.RunAsync(send, scenario.Measured);
        var (steadyRss, threads) = sampler is null ? (double.NaN, 0) : await sampler.StopAsync();
        var upstreamCpu = _upstream.Usage().CpuSeconds - upstreamBefore;
        ServerFigures? figures = null;
        if (server is not null && rested is { } rest)
        {
            var end = server.Usage();
            var cpu = end.CpuSeconds - rest.CpuSeconds;
            figures = new ServerFigures(
                cpu, cpu * 1000 / Math.Max(1, load.Samples.Count), rest.RssMb, steadyRss, end.PeakRssMb,
                (steadyRss - rest.RssMb) / scenario.Measured.Concurrency, rest.Threads, threads);
        }

        return SideResult.From(via, load, upstreamCpu, figures);
    }

    private static string Summary(ScenarioResult result)
    {
        static string Side(SideResult side) =>
            string.Create(CultureInfo.InvariantCulture,
                $"{side.Via} {side.Requests} req {side.Errors} err {side.RequestsPerSecond:0.0}/s p50 {side.TotalMs?.P50:0.00} p99 {side.TotalMs?.P99:0.00} ms") +
            (side.Server is { } server
                ? string.Create(CultureInfo.InvariantCulture, $" cpu {server.CpuSecondsPer1000Requests:0.00} s/1k peak {server.PeakRssMb:0} MB")
                : string.Empty);

        var lines = new[] { result.Direct, result.Gateway, result.Portkey }.OfType<SideResult>().Select(side => $"  {Side(side)}");
        var overhead = result.OverheadVsDirect is { } o ? string.Create(CultureInfo.InvariantCulture, $"  overhead vs direct p50 {o.P50Ms:0.00} p99 {o.P99Ms:0.00} ms") : string.Empty;
        return string.Join('\n', lines.Append(overhead));
    }
}
