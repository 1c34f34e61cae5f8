using System.Globalization;

namespace MoaGateway.Bench;

/// <summary>The targets, each judged met or not on this run's figures.</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetVerdict> Judge(IReadOnlyList<ScenarioResult> results, double idleRssMb)
    {
        ScenarioResult[] Find(params string[] names) => [.. results.Where(result => names.Contains(result.Name))];
        static string Ms(double? value) => value is { } ms ? ms.ToString("0.00", CultureInfo.InvariantCulture) + " ms" : "n/a";

        var verdicts = new List<TargetVerdict>();
        var moa64 = Find("moa-lite c64", "moa c64", "moa-lite responses c64");
        if (moa64.Length > 0)
        {
            verdicts.Add(new(
                "MoA overhead p50 <= 1 ms at concurrency 64 (gateway minus direct run)",
                string.Join("; ", moa64.Select(r => $"{r.Name}: {Ms(r.OverheadVsDirect?.P50Ms)} (over the critical path: {Ms(r.OverheadVsCriticalPath?.P50Ms)})")),
                moa64.All(r => r.OverheadVsDirect?.P50Ms <= 1)));
            verdicts.Add(new(
                "MoA overhead p99 <= 5 ms at concurrency 64 (gateway minus direct run)",
                string.Join("; ", moa64.Select(r => $"{r.Name}: {Ms(r.OverheadVsDirect?.P99Ms)} (over the critical path: {Ms(r.OverheadVsCriticalPath?.P99Ms)})")),
                moa64.All(r => r.OverheadVsDirect?.P99Ms <= 5)));
        }

        var moa512 = Find("moa-lite c512", "moa c512");
        if (moa512.Length > 0)
        {
            verdicts.Add(new(
                "MoA: zero errors at concurrency 512",
                string.Join("; ", moa512.Select(r => $"{r.Name}: {r.Gateway.Errors} errors in {r.Gateway.Requests}")),
                moa512.All(r => r.Gateway.Errors == 0)));
        }

        var moaPaced = Find("moa-lite c1", "moa-lite c64", "moa c1", "moa c64", "moa-lite responses c64");
        if (moaPaced.Length > 0)
        {
            verdicts.Add(new(
                "Added time to first token over the aggregator's own first token <= 1 ms p99 (upstream write to client read)",
                string.Join("; ", moaPaced.Select(r => $"{r.Name}: {Ms(r.Gateway.TokenTransitMs?.P99)} (direct, the same hop without the gateway: {Ms(r.Direct.TokenTransitMs?.P99)})")),
                moaPaced.All(r => r.Gateway.TokenTransitMs?.P99 <= 1)));
        }

        if (Find("moa-lite responses c64") is [var responses] && Find("moa-lite c64") is [var chat] &&
            responses.OverheadVsDirect is { } responsesOverhead && chat.OverheadVsDirect is { } chatOverhead)
        {
            verdicts.Add(new(
                "Responses API overhead reported: moa-lite at concurrency 64 through /v1/responses against /v1/chat/completions (gateway minus direct)",
                string.Create(CultureInfo.InvariantCulture,
                    $"p50 {responsesOverhead.P50Ms:0.00} ms against {chatOverhead.P50Ms:0.00} ms, p99 {responsesOverhead.P99Ms:0.00} ms against {chatOverhead.P99Ms:0.00} ms; bytes per answer {responses.Gateway.BytesPerRequest:0} against {chat.Gateway.BytesPerRequest:0}"),
                true));
        }

        if (Find("moa-lite panel c64") is [var panel] && Find("moa-lite c64") is [var plainChat] &&
            panel.OverheadVsDirect is { } panelOverhead && plainChat.OverheadVsDirect is { } plainOverhead)
        {
            verdicts.Add(new(
                "Panel stream cost reported: moa-lite at concurrency 64 with moa.include_proposals against without (gateway minus direct)",
                string.Create(CultureInfo.InvariantCulture,
                    $"p50 {panelOverhead.P50Ms:0.00} ms against {plainOverhead.P50Ms:0.00} ms, p99 {panelOverhead.P99Ms:0.00} ms against {plainOverhead.P99Ms:0.00} ms; ") +
                string.Create(CultureInfo.InvariantCulture,
                    $"bytes per answer {panel.Gateway.BytesPerRequest:0} against {plainChat.Gateway.BytesPerRequest:0}; gateway CPU {panel.Gateway.Server?.CpuSecondsPer1000Requests:0.00} against {plainChat.Gateway.Server?.CpuSecondsPer1000Requests:0.00} s per 1,000 requests"),
                true));
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

        if (Find("pass-through c1") is [var single])
        {
            // A tail cannot honestly be said to gain less than the median does: a p99 difference below the p50 one is the
            // direct run's own outliers, so both must be within the bound.
            verdicts.Add(new(
                "Pass-through: added p99 <= 1 ms at concurrency 1 (gateway minus direct; the p50 difference must be within it too)",
                $"p99 {Ms(single.OverheadVsDirect?.P99Ms)}, p50 {Ms(single.OverheadVsDirect?.P50Ms)} (over the critical path p99 {Ms(single.OverheadVsCriticalPath?.P99Ms)}; first-token transit p99 {Ms(single.Gateway.TokenTransitMs?.P99)}, direct {Ms(single.Direct.TokenTransitMs?.P99)})",
                single.OverheadVsDirect is { P99Ms: <= 1, P50Ms: <= 1 }));
        }

        if (Find("pass-through c64") is [var throughput])
        {
            var ours = throughput.Gateway.RequestsPerSecond;
            if (throughput.Portkey is { } portkey)
            {
                var ratio = ours / portkey.RequestsPerSecond;
                verdicts.Add(new(
                    "Pass-through at concurrency 64: at least 15x Portkey's throughput",
                    string.Create(CultureInfo.InvariantCulture, $"{ours:0} / {portkey.RequestsPerSecond:0} requests/s = {ratio:0.0}x"),
                    ratio >= 15));
            }

            var share = ours / throughput.Direct.RequestsPerSecond;
            verdicts.Add(new(
                "Pass-through at concurrency 64: at least 35% of the direct throughput",
                string.Create(CultureInfo.InvariantCulture, $"{ours:0} / {throughput.Direct.RequestsPerSecond:0} requests/s = {share:P0}"),
                share >= 0.35));
        }

        verdicts.Add(new(
            "Idle memory <= 100 MB (gateway RSS a second after start-up, before any request)",
            string.Create(CultureInfo.InvariantCulture, $"{idleRssMb:0.0} MB"),
            idleRssMb <= 100));

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
}
