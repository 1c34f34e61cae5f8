namespace MoaGateway.Bench;

/// <summary>Percentiles by linear interpolation between the closest ranks.</summary>
internal sealed record Percentiles(double P50, double P90, double P99, double Max)
{
    public static Percentiles? Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        double At(double quantile)
        {
            var rank = quantile * (sorted.Length - 1);
            var below = (int)Math.Floor(rank);
            var above = Math.Min(below + 1, sorted.Length - 1);
            return sorted[below] + ((rank - below) * (sorted[above] - sorted[below]));
        }

        return new Percentiles(At(0.50), At(0.90), At(0.99), sorted[^1]);
    }
}

/// <summary>Measured minus a baseline, at the median and the 99th percentile (a difference of percentiles, not a percentile of differences).</summary>
internal sealed record Overhead(double P50Ms, double P99Ms);

/// <summary>CPU and memory of the server under test (the gateway, or Portkey): at rest before the measured requests, and over them.</summary>
internal sealed record ServerFigures(
    double CpuSeconds,
    double CpuSecondsPer1000Requests,
    double RestedRssMb,
    double SteadyRssMb,
    double PeakRssMb,
    double MbPerInFlightRequest,
    int RestedThreads,
    int MostThreads);

/// <summary>What one way of serving a scenario (straight to the upstream, through the gateway, through Portkey) measured.</summary>
internal sealed record SideResult(
    string Via,
    int Requests,
    int Errors,
    IReadOnlyList<string> ErrorExamples,
    double WallSeconds,
    double RequestsPerSecond,
    Percentiles? FirstByteMs,
    Percentiles? FirstTokenMs,
    Percentiles? TotalMs,
    Percentiles? TokenTransitMs,
    double BytesPerRequest,
    double UpstreamCpuSecondsPer1000Requests,
    ServerFigures? Server)
{
    public static SideResult From(string via, LoadResult load, double upstreamCpuSeconds, ServerFigures? server)
    {
        var ok = load.Samples.Where(sample => sample.Ok).ToList();
        var errors = load.Samples.Where(sample => !sample.Ok).ToList();
        return new SideResult(
            via,
            load.Samples.Count,
            errors.Count,
            [.. errors.Select(sample => sample.Error!).Distinct().Take(5)],
            load.WallSeconds,
            load.Samples.Count / load.WallSeconds,
            Percentiles.Of(ok.Select(sample => sample.FirstByteMs)),
            Percentiles.Of(ok.Select(sample => sample.FirstTokenMs)),
            Percentiles.Of(ok.Select(sample => sample.TotalMs)),
            Percentiles.Of(ok.Where(sample => sample.TokenTransitMs is not null).Select(sample => sample.TokenTransitMs!.Value)),
            ok.Count == 0 ? 0 : ok.Average(sample => sample.Bytes),
            upstreamCpuSeconds * 1000 / Math.Max(1, load.Samples.Count),
            server);
    }
}

/// <summary>One scenario: the same load straight to the upstream, through the gateway, and for one scenario through Portkey.</summary>
internal sealed record ScenarioResult(
    string Name,
    string Description,
    int Concurrency,
    int WarmupRequests,
    double? CriticalPathMs,
    double? CriticalFirstTokenMs,
    SideResult Direct,
    SideResult Gateway,
    SideResult? Portkey)
{
    public Overhead? OverheadVsCriticalPath => CriticalPathMs is { } path && Gateway.TotalMs is { } total
        ? new Overhead(total.P50 - path, total.P99 - path)
        : null;

    public Overhead? OverheadVsDirect => Difference(Gateway.TotalMs, Direct.TotalMs);

    public Overhead? FirstTokenOverheadVsDirect => Difference(Gateway.FirstTokenMs, Direct.FirstTokenMs);

    private static Overhead? Difference(Percentiles? measured, Percentiles? baseline) =>
        measured is not null && baseline is not null ? new Overhead(measured.P50 - baseline.P50, measured.P99 - baseline.P99) : null;
}

internal sealed record TargetVerdict(string Target, string Figure, bool Met);
