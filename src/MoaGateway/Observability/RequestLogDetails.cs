using System.Text;

namespace MoaGateway.Observability;

/// <summary>What the endpoints learn about a request that its log line should carry; one per request.</summary>
public sealed class RequestLogDetails(bool captureContent)
{
    private StringBuilder? _completion;

    public string? Model { get; set; }

    public bool? Stream { get; set; }

    public int? TotalTokens { get; set; }

    /// <summary>True only when <c>MoaGateway:Logging:IncludeContent</c> is on: prompts and answers are logged then, never otherwise.</summary>
    public bool CaptureContent => captureContent;

    public string? Prompt { get; set; }

    public string? Completion => _completion?.ToString();

    public void AppendCompletion(string? text)
    {
        if (captureContent && text is not null)
        {
            (_completion ??= new StringBuilder()).Append(text);
        }
    }
}
