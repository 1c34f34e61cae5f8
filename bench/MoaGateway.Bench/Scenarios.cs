using MoaGateway.Bench.Upstream;

namespace MoaGateway.Bench;

/// <summary>
/// One scenario: a load (<see cref="Measured"/>, after <see cref="Warmup"/> requests that are not counted) of either a
/// mixture or a single pass-through model.
/// </summary>
internal sealed record Scenario(string Name, string Description, LoadShape Measured, int Warmup, Mixture? Mixture = null, Pacing? Single = null)
{
    public LoadShape WarmupShape => new(Measured.Concurrency, Warmup, TimeSpan.FromSeconds(60));

    /// <summary>Also measured through Portkey, side by side.</summary>
    public bool AlsoPortkey { get; init; }

    /// <summary>The API the gateway is called with; the direct run and the gateway's upstream calls are chat completions either way.</summary>
    public ClientApi Api { get; init; } = ClientApi.ChatCompletions;

    /// <summary>The gateway is asked for the panel (<c>moa.include_proposals</c>): every proposer streamed to the client too. The direct run is the same.</summary>
    public bool IncludeProposals { get; init; }

    /// <summary>From the configured delays; none for unpaced answers, whose latency is all queueing.</summary>
    public double? CriticalPathMs => Mixture?.CriticalPathMs ?? (Single is { TotalMs: > 0 } single ? single.TotalMs : null);

    public double? CriticalFirstTokenMs => Mixture?.CriticalFirstTokenMs ?? (Single is { TotalMs: > 0 } single ? single.TimeToFirstTokenMs : null);

    public Scenario Scaled(double scale) => this with
    {
        Measured = Measured with { Requests = Math.Max(1, (int)(Measured.Requests * scale)), MaxDuration = Measured.MaxDuration * scale },
        Warmup = Math.Max(1, (int)(Warmup * scale)),
    };
}

/// <summary>The fixed scenarios of a run. Every delay is the bench upstream's, set through model names.</summary>
internal static class Scenarios
{
    /// <summary>A proposer: first token after 30 ms, 12 tokens 10 ms apart (100 tokens/s), 150 ms in all.</summary>
    public static readonly Pacing Proposer = new(30, 10, 12);

    /// <summary>The aggregator, and the pass-through model at concurrency 1: 24 tokens, 270 ms in all.</summary>
    public static readonly Pacing Aggregator = new(30, 10, 24);

    /// <summary>A proposer ten times slower in every respect: 1,500 ms.</summary>
    public static readonly Pacing Straggler = new(300, 100, 12);

    /// <summary>All 24 tokens at once, so throughput is bound by the servers alone.</summary>
    public static readonly Pacing Unpaced = new(0, 0, 24);

    public const int StragglerQuorum = 5;

    public const double StragglerGraceMs = 50;

    public static readonly Mixture MoaLite = new("bench-moa-lite", [new Layer(Many(Proposer, 6))], Aggregator);

    public static readonly Mixture Moa = new("bench-moa", [new Layer(Many(Proposer, 6)), new Layer(Many(Proposer, 6))], Aggregator);

    public static readonly Mixture WithStraggler = new("bench-straggler", [new Layer([.. Many(Proposer, 5), Straggler])], Aggregator);

    public static readonly Mixture WithStragglerCut = new(
        "bench-straggler-cut", [new Layer([.. Many(Proposer, 5), Straggler], StragglerQuorum, StragglerGraceMs)], Aggregator);

    /// <summary>Two unpaced layers and an unpaced aggregator: every MoA code path, as often as the machine allows, to warm the JIT.</summary>
    public static readonly Mixture Warmup = new("bench-warmup", [new Layer(Many(Unpaced, 6)), new Layer(Many(Unpaced, 6))], Unpaced);

    public static readonly IReadOnlyList<Mixture> Mixtures = [MoaLite, Moa, WithStraggler, WithStragglerCut, Warmup];

    /// <summary>In order of concurrency, as one gateway process serves them all, so that each finds the memory of the last.</summary>
    public static IReadOnlyList<Scenario> All { get; } =
    [
        MixtureAt("moa-lite", MoaLite, "6 proposers + aggregator", 1, 100, 5),
        MixtureAt("moa", Moa, "6 + 6 proposers + aggregator", 1, 100, 5),
        new("pass-through c1", "one paced model, bench/<model>", new LoadShape(1, 300, TimeSpan.FromSeconds(90)), 5, Single: Aggregator),
        MixtureAt("moa-lite", MoaLite, "6 proposers + aggregator", 64, 2000, 128),
        MixtureAt("moa", Moa, "6 + 6 proposers + aggregator", 64, 1500, 128),
        MixtureAt("moa-lite responses", MoaLite, "moa-lite asked through POST /v1/responses: the same mixture, its answer as Responses API events", 64, 2000, 128)
        with
        {
            Api = ClientApi.Responses,
        },
        MixtureAt("moa-lite panel", MoaLite, "moa-lite with moa.include_proposals: every proposer's tokens streamed to the client as panel chunks too", 64, 2000, 128)
        with
        {
            IncludeProposals = true,
        },
        MixtureAt("straggler", WithStraggler, "moa-lite with one proposer 10x slower, no cut-off", 64, 400, 64),
        MixtureAt("straggler-cut", WithStragglerCut,
            $"the same with Quorum {StragglerQuorum} and StragglerGraceMs {StragglerGraceMs} on its layer", 64, 1500, 128),
        new("pass-through c64", "one unpaced model, bench/<model>: throughput", new LoadShape(64, 1_000_000, TimeSpan.FromSeconds(8)), 2000, Single: Unpaced)
        {
            AlsoPortkey = true,
        },
        MixtureAt("moa-lite", MoaLite, "6 proposers + aggregator", 512, 3072, 512),
        MixtureAt("moa", Moa, "6 + 6 proposers + aggregator", 512, 3072, 512),
    ];

    private static Scenario MixtureAt(string name, Mixture mixture, string description, int concurrency, int requests, int warmup) =>
        new($"{name} c{concurrency}", description, new LoadShape(concurrency, requests, TimeSpan.FromSeconds(60)), warmup, Mixture: mixture);

    private static Pacing[] Many(Pacing pacing, int count) => [.. Enumerable.Repeat(pacing, count)];
}
