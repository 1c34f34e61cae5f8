using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;

namespace MoaGateway.OpenAiWire;

/// <summary>
/// Writes server-sent events to a pipe. Events are written, then flushed together, so that everything one upstream
/// delta becomes leaves at once, as soon as it exists.
/// </summary>
public sealed class SseWriter(PipeWriter pipe) : IDisposable
{
    public const string MediaType = "text/event-stream";

    private readonly Utf8JsonWriter _json = new(pipe, new JsonWriterOptions { SkipValidation = true });

    /// <summary>Starts a <c>data:</c> event; write one JSON value to the returned writer, then call <see cref="EndEvent"/>.</summary>
    public Utf8JsonWriter BeginEvent()
    {
        pipe.Write("data: "u8);
        _json.Reset(pipe);
        return _json;
    }

    /// <summary>Starts an event with an <c>event:</c> line naming its type, as the Responses API sends them.</summary>
    public Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> name)
    {
        pipe.Write("event: "u8);
        pipe.Write(name);
        pipe.Write("\n"u8);
        return BeginEvent();
    }

    public void EndEvent()
    {
        _json.Flush();
        pipe.Write("\n\n"u8);
    }

    public ValueTask<FlushResult> EndEventAsync(CancellationToken cancellationToken)
    {
        EndEvent();
        return FlushAsync(cancellationToken);
    }

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => pipe.FlushAsync(cancellationToken);

    public void WriteDone() => pipe.Write("data: [DONE]\n\n"u8);

    public ValueTask<FlushResult> WriteDoneAsync(CancellationToken cancellationToken)
    {
        WriteDone();
        return FlushAsync(cancellationToken);
    }

    /// <summary>An SSE comment line, which clients ignore; it keeps idle connections from timing out.</summary>
    public ValueTask<FlushResult> WriteCommentAsync(string text, CancellationToken cancellationToken)
    {
        pipe.Write(": "u8);
        pipe.Write(Encoding.UTF8.GetBytes(text));
        pipe.Write("\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    public void Dispose() => _json.Dispose();
}
