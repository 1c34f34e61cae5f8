using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MoaGateway.Bench;

// The benchmark driver; bench/run.sh builds everything and runs it.
// Usage: MoaGateway.Bench --gateway <MoaGateway.dll> --upstream <MoaGateway.Bench.Upstream.dll> --out <dir> --name <run name>
//        [--portkey <start-server.js>] [--commit <id>] [--only <scenario>,...] [--scale <fraction of every count, for trials>]
var options = args.Chunk(2).ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : throw new ArgumentException($"{pair[0]} needs a value."));
string Required(string name) => options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"{name} is required.");

var programs = new Programs(Required("--gateway"), Required("--upstream"), options.GetValueOrDefault("--portkey"));
var outputFolder = Directory.CreateDirectory(Required("--out")).FullName;
var name = Required("--name");
var scale = double.Parse(options.GetValueOrDefault("--scale", "1"), CultureInfo.InvariantCulture);
var only = options.GetValueOrDefault("--only")?.Split(',') ?? [];
var scenarios = Scenarios.All.Where(scenario => only.Length == 0 || only.Contains(scenario.Name)).Select(scenario => scenario.Scaled(scale)).ToList();

var started = DateTimeOffset.UtcNow;
var clock = Stopwatch.StartNew();
var loadAtStart = LoadAverage();
Console.WriteLine($"load average at start: {loadAtStart}");

using var http = new HttpClient(new SocketsHttpHandler
{
    UseProxy = false,
    MaxConnectionsPerServer = int.MaxValue,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    ConnectTimeout = TimeSpan.FromSeconds(5),
})
{
    Timeout = Timeout.InfiniteTimeSpan,
};

using var bench = await BenchRun.StartAsync(programs, http);
var results = new List<ScenarioResult>();
foreach (var scenario in scenarios)
{
    results.Add(await bench.RunAsync(scenario));
}

var run = new RunInfo(
    started.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
    options.GetValueOrDefault("--commit", "unknown"),
    Environment.ProcessorCount,
    RuntimeInformation.FrameworkDescription,
    loadAtStart,
    LoadAverage(),
    clock.Elapsed.TotalSeconds,
    bench.StartupRssMb,
    bench.UpstreamStartupRssMb,
    bench.GatewayEnvironment);
var targets = Targets.Judge(results, bench.StartupRssMb, bench.UpstreamStartupRssMb);

await File.WriteAllTextAsync(Path.Combine(outputFolder, $"{name}.json"), Report.ToJson(run, results, targets));
await File.WriteAllTextAsync(Path.Combine(outputFolder, $"{name}.md"), Report.ToMarkdown(run, results, targets, $"{name}.png"));
await File.WriteAllTextAsync(Path.Combine(outputFolder, $"{name}.tsv"), Report.ChartData(results));
Console.WriteLine($"load average at end: {run.LoadAverageAtEnd}");
foreach (var target in targets)
{
    Console.WriteLine($"{(target.Met ? "met    " : "NOT MET")}  {target.Target}: {target.Figure}");
}

return 0;

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
