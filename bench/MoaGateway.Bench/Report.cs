using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoaGateway.Bench;

/// <summary>The machine and conditions of a run, written next to its figures.</summary>
internal sealed record RunInfo(
    string StartedUtc,
    string Commit,
    int Cores,
    string Runtime,
    string LoadAverageAtStart,
    string LoadAverageAtEnd,
    double DurationSeconds,
    double GatewayStartupRssMb,
    double UpstreamStartupRssMb,
    IReadOnlyDictionary<string, string> GatewayEnvironment);

/// <summary>Writes a run as JSON, as a markdown page, and as the data of its latency chart.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string ToJson(RunInfo run, IReadOnlyList<ScenarioResult> results, IReadOnlyList<TargetVerdict> targets) =>
        JsonSerializer.Serialize(new { run, scenarios = results, targets }, Json);

    /// <summary>Tab-separated rows of label, p50, p90 and p99 total latency (ms), one per scenario and way of serving it.</summary>
    public static string ChartData(IReadOnlyList<ScenarioResult> results)
    {
        var text = new StringBuilder();
        foreach (var result in results)
        {
            foreach (var side in new[] { result.Direct, result.Gateway, result.Portkey }.OfType<SideResult>().Where(side => side.TotalMs is not null))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"\"{result.Name} {side.Via}\"\t{side.TotalMs!.P50:0.###}\t{side.TotalMs.P90:0.###}\t{side.TotalMs.P99:0.###}");
            }
        }

        return text.ToString();
    }

    public static string ToMarkdown(RunInfo run, IReadOnlyList<ScenarioResult> results, IReadOnlyList<TargetVerdict> targets, string chartFile)
    {
        var md = new StringBuilder();
        void Line(FormattableString? text = null) => md.AppendLine(text?.ToString(CultureInfo.InvariantCulture));

        Line($"# Benchmark {run.StartedUtc}");
        Line();
        Line($"Commit `{run.Commit}`, {run.Cores} cores, {run.Runtime}; load average (1, 5, 15 min) {run.LoadAverageAtStart} at the start and {run.LoadAverageAtEnd} at the end; {run.DurationSeconds:0} s in all. The gateway, the bench upstream, the driver and Portkey share the machine.");
        Line();
        Line($"## Targets");
        Line();
        Line($"| target | measured | met |");
        Line($"| --- | --- | --- |");
        foreach (var target in targets)
        {
            Line($"| {target.Target} | {target.Figure} | {(target.Met ? "met" : "**not met**")} |");
        }

        Line();
        Line($"## Latency (ms)");
        Line();
        Line($"Total time of a streamed request, from sending it to reading `[DONE]`. *Direct* is the same load sent by the driver straight to the upstream (for a mixture, the driver runs the layers itself); *critical path* is the sum of the configured delays. Overheads are differences of percentiles.");
        Line();
        Line($"| scenario | c | requests (+ warm-up) | errors | critical path | direct p50 / p99 | gateway p50 / p99 | overhead vs direct p50 / p99 | overhead vs critical path p50 / p99 | first token vs direct p50 / p99 | first-token transit p50 / p99 (direct) |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Line($"| {r.Name} | {r.Concurrency} | {r.Gateway.Requests} (+ {r.WarmupRequests}) | {r.Gateway.Errors} | {Num(r.CriticalPathMs, "0")} | {Pair(r.Direct.TotalMs?.P50, r.Direct.TotalMs?.P99, "0.0")} | {Pair(r.Gateway.TotalMs?.P50, r.Gateway.TotalMs?.P99, "0.0")} | {Pair(r.OverheadVsDirect?.P50Ms, r.OverheadVsDirect?.P99Ms, "0.00")} | {Pair(r.OverheadVsCriticalPath?.P50Ms, r.OverheadVsCriticalPath?.P99Ms, "0.00")} | {Pair(r.FirstTokenOverheadVsDirect?.P50Ms, r.FirstTokenOverheadVsDirect?.P99Ms, "0.00")} | {Pair(r.Gateway.TokenTransitMs?.P50, r.Gateway.TokenTransitMs?.P99, "0.00")} ({Pair(r.Direct.TokenTransitMs?.P50, r.Direct.TokenTransitMs?.P99, "0.00")}) |");
        }

        Line();
        Line($"![latency percentiles by scenario]({chartFile})");
        Line();
        Line($"## Throughput and resources");
        Line();
        Line($"CPU from `/proc/<pid>/stat` (user + system) over the measured requests; memory from `/proc/<pid>/status`: RSS at rest after the scenario's warm-up, the median of samples every 200 ms under load, and the peak (VmHWM, reset before the measured requests). One gateway process serves every scenario in turn; it used {run.GatewayStartupRssMb:0.0} MB a second after start-up, and the bench upstream {run.UpstreamStartupRssMb:0.0} MB at that moment. The GC keeps its heap once grown, so the RSS at rest before a scenario already holds much of what the scenario uses: the per-request figure is a floor, and (peak - start-up RSS) / concurrency in the targets a ceiling.");
        Line();
        Line($"| scenario | c | gateway req/s | direct req/s | gateway CPU s / 1k req | upstream CPU s / 1k req (via gateway, direct) | RSS rested / under load / peak MB | MB per in-flight request | threads rested / most |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            var server = r.Gateway.Server;
            Line($"| {r.Name} | {r.Concurrency} | {r.Gateway.RequestsPerSecond:0.0} | {r.Direct.RequestsPerSecond:0.0} | {Num(server?.CpuSecondsPer1000Requests, "0.00")} | {r.Gateway.UpstreamCpuSecondsPer1000Requests:0.00}, {r.Direct.UpstreamCpuSecondsPer1000Requests:0.00} | {Num(server?.RestedRssMb, "0")} / {Num(server?.SteadyRssMb, "0")} / {Num(server?.PeakRssMb, "0")} | {Num(server?.MbPerInFlightRequest, "0.000")} | {server?.RestedThreads} / {server?.MostThreads} |");
        }

        if (results.FirstOrDefault(r => r.Portkey is not null) is { Portkey: { } portkey } side)
        {
            Line();
            Line($"## Side by side with Portkey ({side.Name}, {side.Description})");
            Line();
            Line($"| via | req/s | p50 / p99 ms | errors | server CPU s / 1k req | server peak MB | ours / theirs |");
            Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var via in new[] { side.Direct, side.Gateway, portkey })
            {
                Line($"| {via.Via} | {via.RequestsPerSecond:0} | {Pair(via.TotalMs?.P50, via.TotalMs?.P99, "0.00")} | {via.Errors} | {Num(via.Server?.CpuSecondsPer1000Requests, "0.00")} | {Num(via.Server?.PeakRssMb, "0")} | {side.Gateway.RequestsPerSecond / via.RequestsPerSecond:0.00}x |");
            }
        }

        var failures = results.SelectMany(r => new[] { r.Direct, r.Gateway, r.Portkey }.OfType<SideResult>()
            .SelectMany(s => s.ErrorExamples.Select(e => $"{r.Name} {s.Via}: {e}"))).ToList();
        if (failures.Count > 0)
        {
            Line();
            Line($"## Errors (first examples)");
            Line();
            foreach (var failure in failures)
            {
                Line($"- `{failure.Replace('`', '\'')}`");
            }
        }

        Line();
        Line($"## Gateway configuration");
        Line();
        Line($"Environment variables of every gateway process (`{{port}}` is a free loopback port):");
        Line();
        Line($"```");
        foreach (var (name, value) in run.GatewayEnvironment.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            Line($"{name}={value}");
        }

        Line($"```");
        return md.ToString();
    }

    private static string Num(double? value, string format) => value is { } number && double.IsFinite(number)
        ? number.ToString(format, CultureInfo.InvariantCulture)
        : "-";

    private static string Pair(double? first, double? second, string format) => $"{Num(first, format)} / {Num(second, format)}";
}
