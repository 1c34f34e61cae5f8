namespace MoaGateway.Serving;

/// <summary>A reload that was refused: when, and every problem it had.</summary>
public sealed record RefusedReload(DateTimeOffset At, IReadOnlyList<string> Problems);
