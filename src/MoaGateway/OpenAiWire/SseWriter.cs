using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;

namespace MoaGateway.OpenAiWire;

/// <summary>Writes server-sent events to a pipe, one flush per event so every event leaves as soon as it exists.</summary>
public sealed class SseWriter(PipeWriter pipe) : IDisposable
{
    public const string MediaType = "text/event-stream";

    private readonly Utf8JsonWriter _json = new(pipe, new JsonWriterOptions { SkipValidation = true });

    /// <summary>Starts a <c>data:</c> event; write one JSON value to the returned writer, then call <see cref="EndEventAsync"/>.</summary>
    public Utf8JsonWriter BeginEvent()
    {
        pipe.Write("data: "u8);
        _json.Reset(pipe);
        return _json;
    }

    public ValueTask<FlushResult> EndEventAsync(CancellationToken cancellationToken)
    {
        _json.Flush();
        pipe.Write("\n\n"u8);
        return pipe.FlushAsync(cancellationToken);
    }

    public ValueTask<FlushResult> WriteDoneAsync(CancellationToken cancellationToken)
    {
        pipe.Write("data: [DONE]\n\n"u8);
        return pipe.FlushAsync(cancellationToken);
    }

    /// <summary>An SSE comment line, which clients ignore; it keeps idle connections from timing out.</summary>
    public ValueTask<FlushResult> WriteCommentAsync(string text, CancellationToken cancellationToken)
    {
        pipe.Write(": "u8);
        pipe.Write(Encoding.UTF8.GetBytes(text));
        pipe.Write("\n\n"u8);
        return pipe.FlushAsync(cancellationToken);
    }

    public void Dispose() => _json.Dispose();
}
