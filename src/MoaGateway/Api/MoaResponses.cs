using System.Diagnostics;
using System.Threading.Channels;
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
    /// <param name="context">The request.</param>
    /// <param name="moa">The virtual model to run, and whether the client asked to see its panel.</param>
    /// <param name="request">The request in chat completions terms.</param>
    /// <param name="format">The shape of the answer.</param>
    /// <param name="scope">The request's cancellation.</param>
    /// <param name="details">The request log's entry.</param>
    public static async Task<IResult> RespondAsync(
        HttpContext context, MoaExtension moa, ChatRequest request, IAnswerFormat format, RequestScope scope, RequestLogDetails details)
    {
        var input = MoaInput.From(request);
        if (input.Error is not null)
        {
            return input.Error;
        }

        var configuration = ConfigurationSnapshot.Of(context);
        var model = moa.Model;
        var run = new MoaRun(model, moa.IncludeProposals ? new Panel(live: request.Stream) : null);
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
    /// Streams the aggregator's deltas as they arrive. Until the first one, the panel's events flow as they happen when
    /// the client asked for them, and SSE comments keep the connection alive in any gap longer than the keep-alive interval.
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
            for (var hasDelta = await FirstDeltaAsync(enumerator, sse, format, run, keepAlive, write); hasDelta; hasDelta = await enumerator.MoveNextAsync())
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

    /// <summary>
    /// Waits for the aggregator's first delta, writing the panel's events (when watched) as they come, and a keep-alive
    /// comment whenever nothing was written for <paramref name="keepAlive"/>. Every panel event precedes the first delta,
    /// which comes only after the layers are over, and a layer's failure too: both find every event written.
    /// </summary>
    private static async Task<bool> FirstDeltaAsync(
        IAsyncEnumerator<ChatDelta> deltas, SseWriter sse, IAnswerFormat format, MoaRun run, TimeSpan keepAlive, CancellationToken write)
    {
        var next = deltas.MoveNextAsync();
        var panel = run.Panel?.Events;
        if (next.IsCompleted && panel is null)
        {
            return await next;
        }

        var pending = next.AsTask();
        using var stopTimer = new CancellationTokenSource();
        try
        {
            var written = Stopwatch.GetTimestamp();
            var timer = Task.Delay(keepAlive, stopTimer.Token);
            Task<bool>? panelReady = null;
            while (true)
            {
                panelReady ??= panel?.WaitToReadAsync(write).AsTask();
                var ready = panelReady is null ? await Task.WhenAny(pending, timer) : await Task.WhenAny(pending, timer, panelReady);
                if (ready == pending)
                {
                    break;
                }

                if (ready == panelReady)
                {
                    // False once the layers are over: the aggregator's first delta is all that is left to wait for.
                    panel = await panelReady ? panel : null;
                    panelReady = null;
                    if (await WritePanelAsync(panel, sse, format, write))
                    {
                        written = Stopwatch.GetTimestamp();
                    }

                    continue;
                }

                var quiet = Stopwatch.GetElapsedTime(written);
                if (quiet >= keepAlive)
                {
                    await sse.WriteCommentAsync($"moa: {run.Stage}", write);
                    written = Stopwatch.GetTimestamp();
                    quiet = TimeSpan.Zero;
                }

                timer = Task.Delay(keepAlive - quiet, stopTimer.Token);
            }

            await WritePanelAsync(panel, sse, format, write);
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

    /// <summary>Writes every panel event that is waiting, and flushes them together; false when none was.</summary>
    private static async Task<bool> WritePanelAsync(ChannelReader<PanelEvent>? panel, SseWriter sse, IAnswerFormat format, CancellationToken write)
    {
        if (panel is null || !panel.TryRead(out var panelEvent))
        {
            return false;
        }

        do
        {
            format.WritePanel(sse, panelEvent);
        }
        while (panel.TryRead(out panelEvent));

        await sse.FlushAsync(write);
        return true;
    }
}
