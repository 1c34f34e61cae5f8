using System.Diagnostics.Metrics;
using MoaGateway.Moa;

namespace MoaGateway.Providers;

/// <summary>What calls to providers record: every failed attempt, by provider, model and error type.</summary>
public static class ProviderTelemetry
{
    private static readonly Meter Meter = new(MoaTelemetry.Name);

    private static readonly Counter<long> UpstreamErrors = Meter.CreateCounter<long>(
        "moa.upstream.errors", "{error}", "Failed upstream attempts, by provider, model and error type.");

    public static void UpstreamError(string provider, string model, string errorType) => UpstreamErrors.Add(
        1, new("gen_ai.provider.name", provider), new("gen_ai.request.model", model), new("error.type", errorType));
}
