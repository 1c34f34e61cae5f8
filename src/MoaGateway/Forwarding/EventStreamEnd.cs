namespace MoaGateway.Forwarding;

/// <summary>
/// Watches the bytes of an event stream go by and tells whether it has ended with OpenAI's <c>data: [DONE]</c>: the
/// last line that is neither blank nor a comment is that marker, and the line is ended. A stream that stops anywhere
/// else was cut short, however cleanly its connection closed.
/// </summary>
public sealed class EventStreamEnd
{
    // The start of the current line, as much of it as the marker can be; its length is counted on up to one byte beyond.
    private readonly byte[] _line = new byte[Done.Length];
    private int _lineLength;
    private bool _lastLineWasDone;

    private static ReadOnlySpan<byte> Done => "data: [DONE]"u8;

    /// <summary>The marker as some servers write it, without the optional space after the colon.</summary>
    private static ReadOnlySpan<byte> DoneUnspaced => "data:[DONE]"u8;

    /// <summary>Whether the bytes observed so far end with the <c>[DONE]</c> marker.</summary>
    public bool EndedWithDone => _lastLineWasDone && _lineLength == 0;

    public void Observe(ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            var end = bytes.IndexOfAny((byte)'\r', (byte)'\n');
            Append(end < 0 ? bytes : bytes[..end]);
            if (end < 0)
            {
                return;
            }

            EndLine();
            bytes = bytes[(end + 1)..];
        }
    }

    private void Append(ReadOnlySpan<byte> part)
    {
        var kept = Math.Min(_lineLength, _line.Length);
        part[..Math.Min(part.Length, _line.Length - kept)].CopyTo(_line.AsSpan(kept));
        _lineLength = Math.Min(_lineLength + part.Length, _line.Length + 1);
    }

    /// <summary>A line break: blank lines (which end events) and comments leave the verdict on the last line as it was.</summary>
    private void EndLine()
    {
        if (_lineLength > 0 && _line[0] != (byte)':')
        {
            var line = _line.AsSpan(0, Math.Min(_lineLength, _line.Length));
            _lastLineWasDone = _lineLength <= _line.Length && (line.SequenceEqual(Done) || line.SequenceEqual(DoneUnspaced));
        }

        _lineLength = 0;
    }
}
