using Microsoft.AspNetCore.Http.Features;
using MoaGateway.Costs;
using MoaGateway.Moa;
using MoaGateway.Observability;
using MoaGateway.OpenAiWire;
using MoaGateway.Security;
using MoaGateway.Serving;

namespace MoaGateway.Api;

/// <summary>
/// Runs a mixture for a chat request and answers in the shape of the API that was called (<see cref="IAnswerFormat"/>):
/// one object, or a stream of server-sent events. Keep-alive, failures, the request log, the metrics and the cost are
/// the same whichever API it is. The cost is settled, and charged to the client key, when the mixture has ended and
/// before the answer's last bytes are written, so that the key's next request already sees it; however the request
/// ends, failed and cancelled calls included.
/// </summary>
internal static class MoaResponses
{
    public static async Task<IResult> RespondAsync(
        HttpContext context, VirtualModel model, ChatRequest request, IAnswerFormat format, RequestScope scope, RequestLogDetails details)
    {
        var input = MoaInput.From(request);
        if (input.Error is not null)
        {
            return input.Error;
        }

        var configuration = ConfigurationSnapshot.Of(context);
        var run = new MoaRun(model);
        var cost = RequestCost.Start(
            context, configuration.Prices, configuration.Counters, context.Features.Get<ClientKey>()?.Id, context.RequestServices.GetRequiredService<TimeProvider>());
        var deltas = configuration.Engine.RunAsync(model, input.Messages!, input.AggregatorOptions!, request.Stream, run, scope.Token);
        if (!request.Stream)
        {
            return await CompleteAsync(deltas, format, run, scope, details, cost);
        }

        await StreamAsync(context, deltas, format, run, TimeSpan.FromSeconds(configuration.Options.KeepAliveSeconds), scope, details, cost);
        return Results.Empty;
    }

    private static async Task<IResult> CompleteAsync(
        IAsyncEnumerable<ChatDelta> deltas, IAnswerFormat format, MoaRun run, RequestScope scope, RequestLogDetails details, RequestCost cost)
    {
        var outcome = "cancelled";
        try
        {
            await foreach (var delta in deltas)
            {
                format.Append(delta);
                details.AppendCompletion(delta.Content);
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

        return format.Complete(run, cost.Settled!);
    }

    /// <summary>
    /// Streams the aggregator's deltas as they arrive. Until the first one, SSE comments keep the connection alive.
    /// A failure before anything was sent becomes a plain error response; after that, the format's failure event
    /// followed by an aborted connection, never the format's end, so no client mistakes a cut-off answer for a complete one.
    /// </summary>
    private static async Task StreamAsync(
        HttpContext context,
        IAsyncEnumerable<ChatDelta> deltas,
        IAnswerFormat format,
        MoaRun run,
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
            for (var hasDelta = await FirstDeltaAsync(enumerator, sse, run, keepAlive, write); hasDelta; hasDelta = await enumerator.MoveNextAsync())
            {
                format.WriteDelta(sse, enumerator.Current);
                await sse.FlushAsync(write);
                details.AppendCompletion(enumerator.Current.Content);
            }

            format.WriteEnd(sse, run, await cost.SettleAsync(run));
            await sse.FlushAsync(write);
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
            format.WriteFailure(sse, failure, run, await cost.SettleAsync(run));
            await StreamCutOff.AbortAsync(context, sse);
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
