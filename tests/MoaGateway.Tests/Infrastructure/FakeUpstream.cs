using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MoaGateway.Tests.Infrastructure;

/// <summary>How the fake answers one model: what it says, how slowly, and how it misbehaves.</summary>
public sealed record FakeReply
{
    /// <summary>The answer; null means "answer from {model}", and "answer from {model} (seed {seed})" for a call with a seed, as sampling differs by seed.</summary>
    public string? Text { get; init; }

    public TimeSpan Delay { get; init; }

    public TimeSpan TokenDelay { get; init; }

    public int Status { get; init; } = 200;

    /// <summary>The error message of a scripted failure; null means "scripted failure of {model}".</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>When set, streaming pauses after the first token until this task completes.</summary>
    public Task? HoldAfterFirstToken { get; init; }

    /// <summary>Streaming breaks the connection after the first token.</summary>
    public bool BreakAfterFirstToken { get; init; }

    /// <summary>The connection is broken before any response is sent.</summary>
    public bool ResetBeforeResponse { get; init; }

    /// <summary>A 200 whose body is not JSON (non-streaming) or whose events are not JSON (streaming).</summary>
    public bool Malformed { get; init; }

    /// <summary>Streaming sends an OpenAI error object as the event after the first token, then ends.</summary>
    public bool ErrorEventAfterFirstToken { get; init; }

    /// <summary>Streaming ends cleanly after the first token, without a finish reason or <c>[DONE]</c>.</summary>
    public bool EndWithoutFinish { get; init; }

    /// <summary>Sent with a failure status.</summary>
    public string? RetryAfter { get; init; }

    /// <summary>Extra response headers, sent with every answer.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A response header that carries the Authorization header the fake received, as some debugging upstreams do.</summary>
    public string? EchoAuthorizationIn { get; init; }

    /// <summary>
    /// A 200 event stream of exactly these pieces, each written and flushed on its own after <see cref="TokenDelay"/>,
    /// then a clean end of the response: a transcript scripted to the byte, whatever it holds or lacks.
    /// </summary>
    public IReadOnlyList<string>? EventStream { get; init; }

    /// <summary>The faults above (and <see cref="Status"/>) apply to this many calls, then the model answers normally. Null: every call.</summary>
    public int? FailTimes { get; init; }

    public int PromptTokens { get; init; } = 11;

    /// <summary>Of <see cref="PromptTokens"/>, how many the usage says were served from the prompt cache.</summary>
    public int CachedPromptTokens { get; init; }

    /// <summary>Of the completion tokens, how many the usage says went to reasoning.</summary>
    public int ReasoningTokens { get; init; }

    /// <summary>Streaming sends the whole answer and its usage, then breaks the connection before <c>[DONE]</c>.</summary>
    public bool BreakAfterUsage { get; init; }
}

/// <summary>A request as the fake received it; recorded on arrival, so it is visible before the gateway has its answer.</summary>
public sealed record RecordedRequest(string Path, IReadOnlyDictionary<string, string> Headers, string Body, long StartedTicks)
{
    /// <summary>When the fake began sending its answer (0 while it has not).</summary>
    public long RespondedTicks { get; internal set; }

    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    public string Model => Json["model"]!.GetValue<string>();

    public JsonArray Messages => Json["messages"]!.AsArray();

    public string? SystemText => Messages.FirstOrDefault(m => m!["role"]!.GetValue<string>() == "system")?["content"]?.GetValue<string>();

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>An OpenAI-compatible server on a loopback port that records every request and answers as scripted.</summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, FakeReply> _replies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly bool _record;
    private Func<string, FakeReply>? _choose;
    private int _inFlight;
    private int _maxInFlight;

    private FakeUpstream(WebApplication app, bool record)
    {
        _app = app;
        _record = record;
    }

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public int MaxConcurrentRequests => Volatile.Read(ref _maxInFlight);

    /// <summary>The model of each request whose client went away before the answer ended, and when the fake noticed.</summary>
    public ConcurrentQueue<(string Model, long Ticks)> Aborts { get; } = new();

    public IReadOnlyList<string> AbortedModels => [.. Aborts.Select(abort => abort.Model)];

    /// <param name="record">False for long runs: requests are answered but not kept.</param>
    public static async Task<FakeUpstream> StartAsync(bool record = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeUpstream(app, record);
        app.MapPost("/v1/chat/completions", fake.HandleAsync);
        // For pass-through of the Responses API: requests are recorded and answered as scripted, like chat completions.
        app.MapPost("/v1/responses", fake.HandleAsync);
        // The pass-through endpoints: each answered in its own shape (AnswerFor).
        app.MapPost("/v1/completions", fake.HandleAsync);
        app.MapPost("/v1/embeddings", fake.HandleAsync);
        app.MapPost("/v1/moderations", fake.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        fake.BaseUrl = address + "/v1";
        return fake;
    }

    public FakeUpstream Reply(string model, FakeReply reply)
    {
        _replies[model] = reply;
        return this;
    }

    /// <summary>Chooses the reply of every request by its model, overriding <see cref="Reply"/>: for randomised fault injection.</summary>
    public FakeUpstream ReplyWith(Func<string, FakeReply> choose)
    {
        _choose = choose;
        return this;
    }

    public IReadOnlyList<RecordedRequest> RequestsFor(string model) => [.. Requests.Where(r => r.Model == model)];

    public static string DefaultText(string model, long? seed = null) => seed is null ? $"answer from {model}" : $"answer from {model} (seed {seed})";

    private async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var inFlight = Interlocked.Increment(ref _inFlight);
        for (var max = _maxInFlight; inFlight > max; max = _maxInFlight)
        {
            Interlocked.CompareExchange(ref _maxInFlight, inFlight, max);
        }

        var body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync();
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(context.Request.Path, headers, body, started);
        if (_record)
        {
            _requests.Enqueue(recorded);
        }

        var json = JsonNode.Parse(body)!.AsObject();
        var model = json["model"]!.GetValue<string>();
        var call = _calls.AddOrUpdate(model, 1, (_, count) => count + 1);
        var scripted = _choose?.Invoke(model) ?? _replies.GetValueOrDefault(model, new FakeReply());
        var reply = scripted.FailTimes is { } failTimes && call > failTimes
            ? new FakeReply
            {
                Text = scripted.Text,
                PromptTokens = scripted.PromptTokens,
                CachedPromptTokens = scripted.CachedPromptTokens,
                ReasoningTokens = scripted.ReasoningTokens,
            }
            : scripted;
        var aborted = context.RequestAborted;
        try
        {
            await Task.Delay(reply.Delay, aborted);
            recorded.RespondedTicks = Stopwatch.GetTimestamp();
            foreach (var (name, value) in reply.Headers)
            {
                context.Response.Headers[name] = value;
            }

            if (reply.EchoAuthorizationIn is { } echo)
            {
                context.Response.Headers[echo] = recorded.Header("Authorization");
            }

            if (reply.ResetBeforeResponse)
            {
                context.Abort();
                return;
            }

            if (reply.Status != 200)
            {
                context.Response.StatusCode = reply.Status;
                if (reply.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = reply.RetryAfter;
                }

                await context.Response.WriteAsJsonAsync(new { error = new { message = reply.ErrorMessage ?? $"scripted failure of {model}", type = "server_error", code = "scripted" } });
                return;
            }

            var text = reply.Text ?? DefaultText(model, json["seed"]?.GetValue<long>());
            if (reply.EventStream is { } pieces)
            {
                await WriteEventStreamAsync(context, pieces, reply.TokenDelay, aborted);
            }
            else if (json["stream"]?.GetValue<bool>() == true)
            {
                await StreamAsync(context, model, text, reply, json["stream_options"]?["include_usage"]?.GetValue<bool>() == true, aborted);
            }
            else if (reply.Malformed)
            {
                await context.Response.WriteAsync("{\"id\": \"chatcmpl-fake\", \"choices\": [", aborted);
            }
            else
            {
                await context.Response.WriteAsJsonAsync(AnswerFor(context.Request.Path, model, text, reply));
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Aborts.Enqueue((model, Stopwatch.GetTimestamp()));
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task StreamAsync(HttpContext context, string model, string text, FakeReply reply, bool includeUsage, CancellationToken aborted)
    {
        context.Response.ContentType = "text/event-stream";
        if (reply.Malformed)
        {
            await context.Response.WriteAsync("data: {\"choices\": [{\"delta\": \n\n", aborted);
            return;
        }

        var tokens = Tokens(text);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(reply.TokenDelay, aborted);
            }

            var delta = i == 0 ? (object)new { role = "assistant", content = tokens[i] } : new { content = tokens[i] };
            await WriteEventAsync(context, Chunk(model, delta, null), aborted);
            if (i == 0 && reply.BreakAfterFirstToken)
            {
                // Kestrel drops queued output on abort; let the first token leave first.
                await Task.Delay(200, aborted);
                context.Abort();
                return;
            }

            if (i == 0 && reply.EndWithoutFinish)
            {
                return;
            }

            if (i == 0 && reply.ErrorEventAfterFirstToken)
            {
                await WriteEventAsync(context, new { error = new { message = reply.ErrorMessage ?? $"scripted failure of {model}", type = "server_error" } }, aborted);
                await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
                return;
            }

            if (i == 0 && reply.HoldAfterFirstToken is { } hold)
            {
                await hold.WaitAsync(aborted);
            }
        }

        await WriteEventAsync(context, Chunk(model, new { }, "stop"), aborted);
        if (includeUsage)
        {
            await WriteEventAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage = Usage(reply, tokens.Count) }, aborted);
        }

        if (reply.BreakAfterUsage)
        {
            await Task.Delay(200, aborted);
            context.Abort();
            return;
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static async Task WriteEventStreamAsync(HttpContext context, IReadOnlyList<string> pieces, TimeSpan pause, CancellationToken aborted)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.StartAsync(aborted);
        foreach (var piece in pieces)
        {
            await Task.Delay(pause, aborted);
            await context.Response.WriteAsync(piece, aborted);
            await context.Response.Body.FlushAsync(aborted);
        }
    }

    private static async Task WriteEventAsync(HttpContext context, object payload, CancellationToken aborted)
    {
        await context.Response.WriteAsync($"data: {JsonSerializer.Serialize(payload)}\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
    }

    private static object Chunk(string model, object delta, string? finishReason) => new
    {
        id = "chatcmpl-fake",
        @object = "chat.completion.chunk",
        created = 1,
        model,
        choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
    };

    private static object AnswerFor(string path, string model, string text, FakeReply reply) => path switch
    {
        "/v1/completions" => new
        {
            id = "cmpl-fake",
            @object = "text_completion",
            created = 1,
            model,
            choices = new[] { new { index = 0, text, finish_reason = "stop" } },
            usage = Usage(reply, Tokens(text).Count),
        },
        "/v1/embeddings" => new
        {
            @object = "list",
            data = new[] { new { @object = "embedding", index = 0, embedding = new[] { 0.25f, -0.5f, 1f } } },
            model,
            usage = new { prompt_tokens = reply.PromptTokens, total_tokens = reply.PromptTokens },
        },
        "/v1/moderations" => new
        {
            id = "modr-fake",
            model,
            results = new[]
            {
                new { flagged = true, categories = new Dictionary<string, bool> { ["violence"] = true }, category_scores = new Dictionary<string, double> { ["violence"] = 0.9 } },
            },
        },
        _ => Completion(model, text, reply),
    };

    private static object Completion(string model, string text, FakeReply reply) => new
    {
        id = "chatcmpl-fake",
        @object = "chat.completion",
        created = 1,
        model,
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage = Usage(reply, Tokens(text).Count),
    };

    private static object Usage(FakeReply reply, int completionTokens) => new
    {
        prompt_tokens = reply.PromptTokens,
        completion_tokens = completionTokens,
        total_tokens = reply.PromptTokens + completionTokens,
        prompt_tokens_details = new { cached_tokens = reply.CachedPromptTokens },
        completion_tokens_details = new { reasoning_tokens = reply.ReasoningTokens },
    };

    /// <summary>Words with their leading space, so the tokens concatenate back to the text.</summary>
    public static IReadOnlyList<string> Tokens(string text) =>
        [.. text.Split(' ').Select((word, i) => i == 0 ? word : " " + word)];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
