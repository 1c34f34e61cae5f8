using System.Collections.Concurrent;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Soak;

/// <summary>Gives a fraction of upstream calls one of the faults LLM providers really produce, chosen at random.</summary>
internal sealed class FaultPlan(int seed, double faultRate)
{
    private static readonly (string Name, FakeReply Reply)[] Faults =
    [
        ("500", new FakeReply { Status = 500 }),
        ("429 with Retry-After", new FakeReply { Status = 429, RetryAfter = "0" }),
        ("503", new FakeReply { Status = 503 }),
        ("reset before response", new FakeReply { ResetBeforeResponse = true }),
        ("reset mid-stream", new FakeReply { BreakAfterFirstToken = true, Text = "cut off in the middle" }),
        ("stream ends without finish", new FakeReply { EndWithoutFinish = true, Text = "cut off in the middle" }),
        ("malformed SSE", new FakeReply { Malformed = true }),
        ("accept then hang", new FakeReply { Delay = TimeSpan.FromSeconds(10) }),
    ];

    private static readonly FakeReply Healthy = new() { Text = "a complete answer of eight words in all" };

    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public double Rate => faultRate;

    public FakeReply Next(string model)
    {
        double draw;
        int pick;
        lock (_gate)
        {
            draw = _random.NextDouble();
            pick = _random.Next(Faults.Length);
        }

        if (draw >= faultRate)
        {
            return Healthy;
        }

        var (name, reply) = Faults[pick];
        _counts.AddOrUpdate(name, 1, (_, count) => count + 1);
        return reply;
    }

    public string Summary() => string.Join(", ", _counts.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key} {pair.Value}"));
}
