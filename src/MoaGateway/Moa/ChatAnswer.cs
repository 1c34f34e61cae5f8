using System.Text;

namespace MoaGateway.Moa;

/// <summary>Assembles streamed deltas into one complete assistant message.</summary>
public sealed class ChatAnswer
{
    private readonly StringBuilder _content = new();
    private readonly StringBuilder _refusal = new();
    private readonly SortedDictionary<int, ToolCallBuilder> _toolCalls = [];
    private bool _hasContent;
    private bool _hasRefusal;

    public string? Content => _hasContent ? _content.ToString() : null;

    public string? Refusal => _hasRefusal ? _refusal.ToString() : null;

    public string? FinishReason { get; private set; }

    public IReadOnlyList<CompleteToolCall> ToolCalls =>
        [.. _toolCalls.Values.Select(call => new CompleteToolCall(call.Id ?? string.Empty, call.Name ?? string.Empty, call.Arguments.ToString()))];

    public void Append(ChatDelta delta)
    {
        if (delta.Content is not null)
        {
            _content.Append(delta.Content);
            _hasContent = true;
        }

        if (delta.Refusal is not null)
        {
            _refusal.Append(delta.Refusal);
            _hasRefusal = true;
        }

        foreach (var call in delta.ToolCalls ?? [])
        {
            if (!_toolCalls.TryGetValue(call.Index, out var builder))
            {
                _toolCalls[call.Index] = builder = new ToolCallBuilder();
            }

            builder.Id ??= call.Id;
            builder.Name ??= call.FunctionName;
            builder.Arguments.Append(call.ArgumentsFragment);
        }

        FinishReason = delta.FinishReason ?? FinishReason;
    }

    private sealed class ToolCallBuilder
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}

public sealed record CompleteToolCall(string Id, string FunctionName, string Arguments);
