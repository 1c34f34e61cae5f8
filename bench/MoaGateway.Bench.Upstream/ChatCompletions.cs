using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MoaGateway.Bench.Upstream;

/// <summary><c>POST …/chat/completions</c>, streamed or not, paced as the model name (or the defaults) asks.</summary>
internal sealed class ChatCompletions(Pacing defaults)
{
    private readonly ConcurrentDictionary<string, Pacing> _pacings = new(StringComparer.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var arrived = Stopwatch.GetTimestamp();
        var cancellationToken = context.RequestAborted;
        if (!HttpMethods.IsPost(context.Request.Method) || context.Request.Path.Value?.EndsWith("/chat/completions", StringComparison.Ordinal) != true)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var (request, length) = await ReadAsync(context.Request.BodyReader, cancellationToken);
        if (request is not { Model: { } model })
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        Pacing pacing;
        try
        {
            pacing = _pacings.GetOrAdd(model, static (name, fallback) => Pacing.FromModel(name, fallback), defaults);
        }
        catch (FormatException exception)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync(exception.Message, cancellationToken);
            return;
        }

        // A rough count, as a tokenizer would give about one token per four bytes of prompt.
        var promptTokens = Math.Max(1, length / 4);
        var output = context.Response.BodyWriter;
        try
        {
            if (request.Stream)
            {
                context.Response.ContentType = "text/event-stream";
                await StreamAsync(output, pacing, arrived, promptTokens, request.IncludeUsage, cancellationToken);
            }
            else
            {
                context.Response.ContentType = "application/json";
                await DelayUntilAsync(output, arrived, pacing.TotalMs, pendingBytes: false, cancellationToken);
                AnswerBytes.WriteCompletion(output, promptTokens, pacing.Tokens);
                await output.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away (a straggler cut, say): nothing left to send.
        }
    }

    private static async Task StreamAsync(
        PipeWriter output, Pacing pacing, long arrived, int promptTokens, bool includeUsage, CancellationToken cancellationToken)
    {
        var pending = false;
        for (var token = 0; token < pacing.Tokens; token++)
        {
            pending = await DelayUntilAsync(output, arrived, pacing.TimeToFirstTokenMs + (token * pacing.InterTokenMs), pending, cancellationToken);
            if (token == 0)
            {
                AnswerBytes.WriteFirstToken(output);
            }
            else
            {
                output.Write(AnswerBytes.Token(token));
            }

            pending = true;
        }

        await DelayUntilAsync(output, arrived, pacing.TotalMs, pending, cancellationToken);
        AnswerBytes.WriteEnd(output, promptTokens, pacing.Tokens, includeUsage);
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>Waits until <paramref name="dueMs"/> after arrival, flushing what is written first; tokens already due go out together.</summary>
    private static async ValueTask<bool> DelayUntilAsync(PipeWriter output, long arrived, double dueMs, bool pendingBytes, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(dueMs) - Stopwatch.GetElapsedTime(arrived);
        if (wait <= TimeSpan.Zero)
        {
            return pendingBytes;
        }

        if (pendingBytes)
        {
            await output.FlushAsync(cancellationToken);
        }

        await Task.Delay(wait, cancellationToken);
        return false;
    }

    private static async Task<(RequestSummary? Request, int Length)> ReadAsync(PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            if (read.IsCompleted)
            {
                var length = (int)read.Buffer.Length;
                var summary = RequestSummary.Parse(read.Buffer);
                body.AdvanceTo(read.Buffer.End);
                return (summary, length);
            }

            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>The three fields that decide the answer; everything else in the request is skipped unread.</summary>
    private sealed record RequestSummary(string? Model, bool Stream, bool IncludeUsage)
    {
        public static RequestSummary? Parse(ReadOnlySequence<byte> json)
        {
            try
            {
                var reader = new Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                string? model = null;
                bool stream = false, includeUsage = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isModel = reader.ValueTextEquals("model"u8);
                    var isStream = reader.ValueTextEquals("stream"u8);
                    var isStreamOptions = reader.ValueTextEquals("stream_options"u8);
                    reader.Read();
                    if (isModel && reader.TokenType == JsonTokenType.String)
                    {
                        model = reader.GetString();
                    }
                    else if (isStream)
                    {
                        stream = reader.TokenType == JsonTokenType.True;
                    }

                    if (isStreamOptions && reader.TokenType == JsonTokenType.StartObject)
                    {
                        includeUsage = ReadIncludeUsage(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                return new RequestSummary(model, stream, includeUsage);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static bool ReadIncludeUsage(ref Utf8JsonReader reader)
        {
            var includeUsage = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
                reader.Read();
                includeUsage |= isIncludeUsage && reader.TokenType == JsonTokenType.True;
                reader.Skip();
            }

            return includeUsage;
        }
    }
}
