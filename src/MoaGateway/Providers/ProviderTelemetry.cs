using System.Diagnostics;
using System.Diagnostics.Metrics;
using MoaGateway.Moa;

namespace MoaGateway.Providers;

/// <summary>What calls to providers record: every failed attempt, by provider, model and error type, and a span per pass-through forward.</summary>
public static class ProviderTelemetry
{
    private static readonly Meter Meter = new(MoaTelemetry.Name);

    private static readonly Counter<long> UpstreamErrors = Meter.CreateCounter<long>(
        "moa.upstream.errors", "{error}", "Failed upstream attempts, by provider, model and error type.");

    public static void UpstreamError(string provider, string model, string errorType) => UpstreamErrors.Add(
        1, new("gen_ai.provider.name", provider), new("gen_ai.request.model", model), new("error.type", errorType));

    /// <summary>A client span per pass-through forward, "{operation} {model}", so HttpClient's span of each attempt nests under it.</summary>
    public static Activity? StartForward(string provider, string model, string path)
    {
        var operation = path switch
        {
            "chat/completions" => "chat",
            "completions" => "text_completion",
            _ => path,
        };
        var activity = MoaTelemetry.Source.StartActivity($"{operation} {model}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.provider.name", provider);
            activity.SetTag("gen_ai.request.model", model);
            activity.SetTag("moa.passthrough", true);
        }

        return activity;
    }

    public static void CompleteForward(Activity? activity, int? status, int attempts, string? errorType)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag("moa.attempts", attempts);
        if (status is { } code)
        {
            activity.SetTag("http.response.status_code", code);
        }

        if (errorType is not null)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
