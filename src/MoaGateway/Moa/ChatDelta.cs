namespace MoaGateway.Moa;

/// <summary>One streamed piece of the aggregator's answer, as relayed to the client.</summary>
public sealed record ChatDelta(
    string? Content = null,
    string? Refusal = null,
    IReadOnlyList<ToolCallDelta>? ToolCalls = null,
    string? FinishReason = null,
    TokenCounts? Usage = null)
{
    /// <summary>False for a delta that only reports usage, which belongs in no choice.</summary>
    public bool HasChoice => Content is not null || Refusal is not null || ToolCalls is not null || FinishReason is not null;
}

public sealed record ToolCallDelta(int Index, string? Id, string? FunctionName, string? ArgumentsFragment);
