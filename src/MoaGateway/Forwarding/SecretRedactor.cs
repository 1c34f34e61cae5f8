using System.Buffers;
using System.Text;

namespace MoaGateway.Forwarding;

/// <summary>
/// Replaces a secret with <c>[redacted]</c> in a body relayed piece by piece, wherever it appears, also where a piece
/// ends inside it: the longest end of a piece that could begin the secret is held back until the next piece shows
/// whether it does. Nothing else is held, so the events of an event stream, which end in a line break, leave at once.
/// </summary>
public sealed class SecretRedactor
{
    private readonly byte[] _secret;
    private readonly byte[] _held;
    private int _heldLength;

    /// <param name="secret">What to redact; null or empty: nothing, every byte passes as it is.</param>
    public SecretRedactor(string? secret)
    {
        _secret = Encoding.UTF8.GetBytes(secret ?? string.Empty);
        _held = new byte[Math.Max(_secret.Length - 1, 0)];
    }

    public static ReadOnlySpan<byte> Replacement => "[redacted]"u8;

    /// <summary>Writes <paramref name="piece"/>, redacted, to <paramref name="output"/>, except for an end that may begin the secret.</summary>
    public void Write(ReadOnlySpan<byte> piece, IBufferWriter<byte> output)
    {
        if (_heldLength == 0)
        {
            Redact(piece, output);
            return;
        }

        // Rare: only when the last piece ended in what may be the start of the secret.
        var joined = ArrayPool<byte>.Shared.Rent(_heldLength + piece.Length);
        try
        {
            _held.AsSpan(0, _heldLength).CopyTo(joined);
            piece.CopyTo(joined.AsSpan(_heldLength));
            var length = _heldLength + piece.Length;
            _heldLength = 0;
            Redact(joined.AsSpan(0, length), output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>The body has ended: what was held back was no secret after all, and goes out.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        output.Write(_held.AsSpan(0, _heldLength));
        _heldLength = 0;
    }

    private void Redact(ReadOnlySpan<byte> text, IBufferWriter<byte> output)
    {
        if (_secret.Length == 0)
        {
            output.Write(text);
            return;
        }

        for (int found; (found = text.IndexOf(_secret)) >= 0; text = text[(found + _secret.Length)..])
        {
            output.Write(text[..found]);
            output.Write(Replacement);
        }

        var held = StartOfSecretAtEnd(text);
        output.Write(text[..^held]);
        text[^held..].CopyTo(_held);
        _heldLength = held;
    }

    /// <summary>The length of the longest end of <paramref name="text"/> that is a start of the secret (never the whole secret).</summary>
    private int StartOfSecretAtEnd(ReadOnlySpan<byte> text)
    {
        for (var length = Math.Min(text.Length, _secret.Length - 1); length > 0; length--)
        {
            if (text[^length..].SequenceEqual(_secret.AsSpan(0, length)))
            {
                return length;
            }
        }

        return 0;
    }
}
