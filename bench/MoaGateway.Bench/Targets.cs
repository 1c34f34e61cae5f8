using System.Globalization;

namespace MoaGateway.Bench;

/// <summary>The targets, each judged met or not on this run's figures.</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetVerdict> Judge(IReadOnlyList<ScenarioResult> results, double idleRssMb, double upstreamIdleRssMb)
    {
        ScenarioResult[] Find(params string[] names) => [.. results.Where(result => names.Contains(result.Name))];
        static string Ms(double? value) => value is { } ms ? ms.ToString("0.00", CultureInfo.InvariantCulture) + " ms" : "n/a";

        var verdicts = new List<TargetVerdict>();
        var moa64 = Find("moa-lite c64", "moa c64");
        if (moa64.Length > 0)
        {
            verdicts.Add(new(
                "MoA overhead at concurrency 64 (gateway minus direct run): p50 <= 0.5 ms and p99 <= 3 ms, moa-lite and moa",
                string.Join("; ", moa64.Select(r =>
                    $"{r.Name}: p50 {Ms(r.OverheadVsDirect?.P50Ms)}, p99 {Ms(r.OverheadVsDirect?.P99Ms)} (over the critical path: {Ms(r.OverheadVsCriticalPath?.P50Ms)}, {Ms(r.OverheadVsCriticalPath?.P99Ms)})")),
                moa64.All(r => r.OverheadVsDirect is { P50Ms: <= 0.5, P99Ms: <= 3 })));
        }

        var moa512 = Find("moa-lite c512", "moa c512");
        if (moa512.Length > 0)
        {
            verdicts.Add(new(
                "MoA at concurrency 512: zero errors, and the gateway's throughput at least 90% of the direct run's",
                string.Join("; ", moa512.Select(r => string.Create(CultureInfo.InvariantCulture,
                    $"{r.Name}: {r.Gateway.Errors} errors in {r.Gateway.Requests}, {r.Gateway.RequestsPerSecond:0.0} / {r.Direct.RequestsPerSecond:0.0} requests/s = {r.Gateway.RequestsPerSecond / r.Direct.RequestsPerSecond:P0}"))),
                moa512.All(r => r.Gateway.Errors == 0 && r.Gateway.RequestsPerSecond >= 0.9 * r.Direct.RequestsPerSecond)));
        }

        var firstToken = Find("moa-lite c64", "moa c64", "moa-lite responses c64");
        if (firstToken.Length > 0)
        {
            verdicts.Add(new(
                "Added time to first token p99 <= 1 ms at concurrency 64, chat completions and Responses API (the aggregator's first token, upstream write to client read)",
                string.Join("; ", firstToken.Select(r => $"{r.Name}: {Ms(r.Gateway.TokenTransitMs?.P99)} (direct, the same hop without the gateway: {Ms(r.Direct.TokenTransitMs?.P99)})")),
                firstToken.All(r => r.Gateway.TokenTransitMs?.P99 <= 1)));
        }

        // The upstream's CPU while it served the gateway's run: the same streams, the gateway's calls included.
        var cpu = Find("moa-lite c64", "moa c64");
        if (cpu.Length > 0)
        {
            verdicts.Add(new(
                "Gateway CPU per MoA request at most 0.5x the bench upstream's CPU for the same streams (concurrency 64)",
                string.Join("; ", cpu.Select(r => string.Create(CultureInfo.InvariantCulture,
                    $"{r.Name}: {r.Gateway.Server?.CpuSecondsPer1000Requests:0.00} / {r.Gateway.UpstreamCpuSecondsPer1000Requests:0.00} s per 1,000 requests = {CpuRatio(r):0.00}x"))),
                cpu.All(r => CpuRatio(r) <= 0.5)));
        }

        if (Find("pass-through c1") is [var single])
        {
            // A tail cannot honestly be said to gain less than the median does: a p99 difference below the p50 one is the
            // direct run's own outliers, so both must be within the bound.
            verdicts.Add(new(
                "Pass-through: added p99 <= 0.25 ms at concurrency 1 (gateway minus direct; the p50 difference must be within it too)",
                $"p99 {Ms(single.OverheadVsDirect?.P99Ms)}, p50 {Ms(single.OverheadVsDirect?.P50Ms)} (over the critical path p99 {Ms(single.OverheadVsCriticalPath?.P99Ms)}; first-token transit p99 {Ms(single.Gateway.TokenTransitMs?.P99)}, direct {Ms(single.Direct.TokenTransitMs?.P99)})",
                single.OverheadVsDirect is { P99Ms: <= 0.25, P50Ms: <= 0.25 }));
        }

        if (Find("pass-through c64") is [var throughput])
        {
            var ours = throughput.Gateway.RequestsPerSecond;
            var share = ours / throughput.Direct.RequestsPerSecond;
            var ratio = throughput.Portkey is { } portkey ? ours / portkey.RequestsPerSecond : (double?)null;
            verdicts.Add(new(
                "Pass-through at concurrency 64: at least 50% of the direct throughput and at least 15x Portkey's, side by side",
                string.Create(CultureInfo.InvariantCulture, $"{ours:0} / {throughput.Direct.RequestsPerSecond:0} requests/s direct = {share:P0}; ") +
                (throughput.Portkey is { } peer
                    ? string.Create(CultureInfo.InvariantCulture, $"{ours:0} / {peer.RequestsPerSecond:0} requests/s through Portkey = {ratio:0.0}x")
                    : "Portkey not run"),
                share >= 0.5 && ratio >= 15));
        }

        if (Find("moa-lite panel c64") is [var panel] && Find("moa-lite c64") is [var plainChat] &&
            panel.OverheadVsDirect is { } panelOverhead && plainChat.OverheadVsDirect is { } plainOverhead)
        {
            verdicts.Add(new(
                "Panel stream on (moa-lite with moa.include_proposals, concurrency 64): overhead p99 within 1 ms of moa-lite's without it",
                string.Create(CultureInfo.InvariantCulture,
                    $"p99 {panelOverhead.P99Ms:0.00} ms against {plainOverhead.P99Ms:0.00} ms (p50 {panelOverhead.P50Ms:0.00} against {plainOverhead.P50Ms:0.00}); ") +
                string.Create(CultureInfo.InvariantCulture,
                    $"bytes per answer {panel.Gateway.BytesPerRequest:0} against {plainChat.Gateway.BytesPerRequest:0}; gateway CPU {panel.Gateway.Server?.CpuSecondsPer1000Requests:0.00} against {plainChat.Gateway.Server?.CpuSecondsPer1000Requests:0.00} s per 1,000 requests"),
                panelOverhead.P99Ms - plainOverhead.P99Ms <= 1));
        }

        if (Find("straggler-cut c64") is [var cut] && Find("moa-lite c64") is [var plain] && cut.Gateway.TotalMs is { } withCut && plain.Gateway.TotalMs is { } without)
        {
            var (p50, p99) = (withCut.P50 / without.P50, withCut.P99 / without.P99);
            verdicts.Add(new(
                "Straggler with the cut-off: total latency within 1.2x of the no-straggler case (p50 and p99, concurrency 64)",
                string.Create(CultureInfo.InvariantCulture,
                    $"p50 {withCut.P50:0.0} / {without.P50:0.0} ms = {p50:0.000}x; p99 {withCut.P99:0.0} / {without.P99:0.0} ms = {p99:0.000}x"),
                p50 <= 1.2 && p99 <= 1.2));
        }

        verdicts.Add(new(
            "Idle memory <= 60 MB (gateway RSS a second after start-up, before any request)",
            string.Create(CultureInfo.InvariantCulture, $"{idleRssMb:0.0} MB (the bench upstream, ASP.NET Core on Kestrel alone with one request handler and nothing else, at the same moment: {upstreamIdleRssMb:0.0} MB)"),
            idleRssMb <= 60));

        var perStream = results.Where(r => r.Name.StartsWith("moa", StringComparison.Ordinal) && r.Concurrency > 1 && r.Gateway.Server is not null).ToList();
        if (perStream.Count > 0)
        {
            verdicts.Add(new(
                "Memory per in-flight MoA stream reported: (RSS under load - RSS at rest) / concurrency, and as an upper bound (peak RSS - RSS after start-up) / concurrency",
                string.Join("; ", perStream.Select(r => string.Create(CultureInfo.InvariantCulture,
                    $"{r.Name}: {r.Gateway.Server!.MbPerInFlightRequest * 1024:0} KB, at most {(r.Gateway.Server.PeakRssMb - idleRssMb) * 1024 / r.Concurrency:0} KB"))),
                true));
        }

        verdicts.Add(new(
            "Zero errors through the gateway in every scenario",
            string.Join("; ", results.Select(r => $"{r.Name}: {r.Gateway.Errors}")),
            results.All(r => r.Gateway.Errors == 0)));
        return verdicts;
    }

    private static double CpuRatio(ScenarioResult result) =>
        (result.Gateway.Server?.CpuSecondsPer1000Requests ?? double.NaN) / result.Gateway.UpstreamCpuSecondsPer1000Requests;
}
