using System.Diagnostics.Metrics;
using MoaGateway.Moa;

namespace MoaGateway.SharedState;

/// <summary>What the shared store records: every Redis call that failed, after which the replica counts on its own or refuses.</summary>
public static class SharedStateTelemetry
{
    private static readonly Meter Meter = new(MoaTelemetry.Name);

    private static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "moa.shared_state.failures", "{call}", "Redis calls of the shared state that failed or timed out, by operation and error type.");

    public static void Failure(string operation, string errorType) =>
        Failures.Add(1, new("moa.operation", operation), new("error.type", errorType));
}
