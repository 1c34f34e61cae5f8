using Microsoft.AspNetCore.Http.Features;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.OpenAiWire;

namespace MoaGateway.Api;

/// <summary>Turns a running mixture into an OpenAI response: one <c>chat.completion</c>, or an SSE stream of chunks.</summary>
internal static class MoaResponses
{
    /// <summary>The whole answer once the mixture has ended, its cost settled (charged) before the response is written.</summary>
    public static async Task<IResult> CompleteAsync(
        CompletionHeader header, IAsyncEnumerable<ChatDelta> deltas, MoaRun run, RequestScope scope, RequestLogDetails details, RequestCost cost)
    {
        var answer = new ChatAnswer();
        var outcome = "cancelled";
        try
        {
            await foreach (var delta in deltas)
            {
                answer.Append(delta);
            }

            outcome = "ok";
        }
        catch (Exception exception) when (Failure(exception, scope) is { } failure)
        {
            outcome = "error";
            return failure;
        }
        finally
        {
            await FinishAsync(run, stream: false, outcome, details, cost);
        }

        details.AppendCompletion(answer.Content);
        var settled = cost.Settled!;
        return new JsonWriterResult(json =>
            ChatCompletionJson.WriteCompletion(json, header, answer, run.TotalUsage, usage => MoaUsageJson.Write(usage, run, settled)));
    }

    /// <summary>
    /// Streams the aggregator's deltas as they arrive. Until the first one, SSE comments keep the connection alive.
    /// A failure before anything was sent becomes a plain error response; after that, an error event followed by an
    /// aborted connection, never <c>[DONE]</c>, so no client mistakes a cut-off answer for a complete one. The cost is
    /// settled (charged) when the aggregator's stream ends, before the usage chunk and <c>[DONE]</c>.
    /// </summary>
    public static async Task StreamAsync(
        HttpContext context,
        CompletionHeader header,
        IAsyncEnumerable<ChatDelta> deltas,
        MoaRun run,
        bool includeUsage,
        TimeSpan keepAlive,
        RequestScope scope,
        RequestLogDetails details,
        RequestCost cost)
    {
        var response = context.Response;
        response.ContentType = SseWriter.MediaType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        using var sse = new SseWriter(response.BodyWriter);
        var write = scope.ClientGone;
        var outcome = "cancelled";
        MoaTelemetry.StreamStarted(run.Model.Id);
        await using var enumerator = deltas.GetAsyncEnumerator(scope.Token);
        try
        {
            var hasDelta = await FirstDeltaAsync(enumerator, sse, run, keepAlive, write);
            var withRole = true;
            for (; hasDelta; hasDelta = await enumerator.MoveNextAsync())
            {
                if (enumerator.Current.HasChoice)
                {
                    ChatCompletionJson.WriteChunk(sse.BeginEvent(), header, enumerator.Current, withRole);
                    withRole = false;
                    await sse.EndEventAsync(write);
                    details.AppendCompletion(enumerator.Current.Content);
                }
            }

            var settled = await cost.SettleAsync(run);
            if (includeUsage)
            {
                ChatCompletionJson.WriteUsageChunk(sse.BeginEvent(), header, run.TotalUsage, usage => MoaUsageJson.Write(usage, run, settled));
                await sse.EndEventAsync(write);
            }

            await sse.WriteDoneAsync(write);
            outcome = "ok";
        }
        catch (Exception exception) when (!response.HasStarted && Failure(exception, scope) is { } failure)
        {
            outcome = "error";
            await failure.ExecuteAsync(context);
        }
        catch (Exception exception) when (Failure(exception, scope) is { } failure)
        {
            outcome = "error";
            await StreamCutOff.EndAsync(context, failure);
        }
        catch (OperationCanceledException) when (scope.ClientGone.IsCancellationRequested)
        {
            // The client went away; cancelling the scope has already stopped every upstream call.
        }
        finally
        {
            MoaTelemetry.StreamEnded(run.Model.Id);
            await FinishAsync(run, stream: true, outcome, details, cost);
        }
    }

    /// <summary>However the request ended, its cost is settled: what failed and cancelled calls were billed is charged too.</summary>
    private static async ValueTask FinishAsync(MoaRun run, bool stream, string outcome, RequestLogDetails details, RequestCost cost)
    {
        details.TotalTokens = run.TotalUsage.Total;
        await cost.SettleAsync(run);
        MoaTelemetry.RecordRequest(run, stream, outcome, run.Elapsed);
    }

    /// <summary>
    /// What to tell the client about <paramref name="exception"/>; null when there is no one left to tell, or it is a bug
    /// (left to <see cref="OpenAiErrorMiddleware"/>). A 502 or 504 comes after the gateway's own retries of every call
    /// that could be retried, so the client is told not to run the whole mixture again.
    /// </summary>
    private static OpenAiError? Failure(Exception exception, RequestScope scope)
    {
        var failure = exception switch
        {
            ProviderException provider => OpenAiError.FromProvider(provider),
            OperationCanceledException => scope.Failure,
            _ => null,
        };
        return failure is { StatusCode: StatusCodes.Status502BadGateway or StatusCodes.Status504GatewayTimeout }
            ? failure with { ShouldRetry = false }
            : failure;
    }

    private static async Task<bool> FirstDeltaAsync(
        IAsyncEnumerator<ChatDelta> deltas, SseWriter sse, MoaRun run, TimeSpan keepAlive, CancellationToken write)
    {
        var next = deltas.MoveNextAsync();
        if (next.IsCompleted)
        {
            return await next;
        }

        var pending = next.AsTask();
        using var stopTimer = new CancellationTokenSource();
        try
        {
            while (await Task.WhenAny(pending, Task.Delay(keepAlive, stopTimer.Token)) != pending)
            {
                await sse.WriteCommentAsync($"moa: {run.Stage}", write);
            }
        }
        catch (OperationCanceledException) when (write.IsCancellationRequested)
        {
            // Fall through: the pending step observes the same cancellation, and the enumerator must not be disposed before it ends.
        }
        finally
        {
            await stopTimer.CancelAsync();
        }

        return await pending;
    }
}
