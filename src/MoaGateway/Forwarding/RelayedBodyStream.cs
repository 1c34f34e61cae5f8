using System.IO.Pipelines;

namespace MoaGateway.Forwarding;

/// <summary>
/// The body of a provider's response on its way to the client, written through to the client's pipe piece by piece as
/// it arrives: the provider's key redacted (<see cref="SecretRedactor"/>), and the end of an event stream watched for
/// its <c>[DONE]</c> (<see cref="EventStreamEnd"/>). It knows no forwarder: one writes the upstream body to it, another
/// can be given it as the response body to copy into.
/// </summary>
public sealed class RelayedBodyStream(PipeWriter client, SecretRedactor redactor) : Stream
{
    private readonly EventStreamEnd _end = new();

    /// <summary>Whether what was written so far ends with <c>data: [DONE]</c>.</summary>
    public bool EndedWithDone => _end.EndedWithDone;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Writes and sends at once: a relayed body leaves as it arrived, event by event.</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        await client.FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Only into the pipe's memory; <see cref="FlushAsync(CancellationToken)"/> sends it.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _end.Observe(buffer);
        redactor.Write(buffer, client);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async Task FlushAsync(CancellationToken cancellationToken) => await client.FlushAsync(cancellationToken);

    /// <summary>The body has ended: sends what the redactor held back, which turned out to be no key.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        redactor.Complete(client);
        await client.FlushAsync(cancellationToken);
    }

    /// <summary>A pipe is flushed asynchronously only.</summary>
    public override void Flush() => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
