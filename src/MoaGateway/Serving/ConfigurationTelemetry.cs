using System.Diagnostics.Metrics;
using MoaGateway.Moa;

namespace MoaGateway.Serving;

/// <summary>What serving the configuration records: whether the latest reload was refused.</summary>
public static class ConfigurationTelemetry
{
    private static readonly Meter Meter = new(MoaTelemetry.Name);

    private static readonly UpDownCounter<long> ReloadRefused = Meter.CreateUpDownCounter<long>(
        "moa.config.reload_refused", "{configuration}", "1 while the gateway serves its last good configuration because the latest reload was refused.");

    /// <summary>A reload was refused (<paramref name="refused"/>), or a valid one ended the refusal.</summary>
    public static void ReloadRefusedChanged(bool refused) => ReloadRefused.Add(refused ? 1 : -1);
}
