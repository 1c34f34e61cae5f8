using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoaGateway.Soak;

/// <summary>Sends MoA requests at a fixed concurrency, half streamed, some abandoned by their client, and judges every answer.</summary>
internal sealed class SoakDriver(HttpClient http, string model, double clientAbortRate, TimeSpan hangBound)
{
    /// <summary>What the fake's healthy aggregator says; anything else in a "successful" answer is a truncation.</summary>
    private const string ExpectedAnswer = "a complete answer of eight words in all";

    public double ClientAbortRate => clientAbortRate;

    public TimeSpan HangBound => hangBound;

    public async Task<Tally> RunAsync(int requests, int concurrency, int seed)
    {
        var tally = new Tally();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var random = new Random((seed * 1000) + worker);
            while (Interlocked.Increment(ref next) < requests)
            {
                var stream = random.Next(2) == 0;
                TimeSpan? abortAfter = random.NextDouble() < clientAbortRate ? TimeSpan.FromMilliseconds(random.Next(0, 60)) : null;
                tally.Add(await SendAsync(stream, abortAfter));
            }
        }));
        return tally;
    }

    private async Task<Verdict> SendAsync(bool stream, TimeSpan? abortAfter)
    {
        using var hang = new CancellationTokenSource(hangBound);
        using var abort = new CancellationTokenSource();
        if (abortAfter is { } delay)
        {
            abort.CancelAfter(delay);
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(hang.Token, abort.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "How do tides work?" } } }),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, either.Token);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(either.Token);
                return ErrorMessage(body) is { } message
                    ? Verdict.Error($"HTTP {(int)response.StatusCode}", message)
                    : Verdict.Malformed($"HTTP {(int)response.StatusCode}: {body}");
            }

            return stream ? await JudgeStreamAsync(response, either.Token) : JudgeCompletion(await response.Content.ReadAsStringAsync(either.Token));
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            return Verdict.ClientAbort;
        }
        catch (OperationCanceledException) when (hang.IsCancellationRequested)
        {
            return Verdict.Hung;
        }
    }

    private static Verdict JudgeCompletion(string body)
    {
        try
        {
            var choice = JsonNode.Parse(body)!["choices"]![0]!;
            var content = choice["message"]!["content"]?.GetValue<string>();
            return content == ExpectedAnswer && choice["finish_reason"]?.GetValue<string>() == "stop"
                ? Verdict.Complete
                : Verdict.TruncatedAsSuccess($"200 with content '{content}'");
        }
        catch (Exception exception) when (exception is JsonException or NullReferenceException or InvalidOperationException)
        {
            return Verdict.Malformed($"200 with unreadable body: {body}");
        }
    }

    private static async Task<Verdict> JudgeStreamAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var content = new System.Text.StringBuilder();
        string? finishReason = null;
        string? error = null;
        var done = false;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                if (line == "data: [DONE]")
                {
                    done = true;
                    continue;
                }

                var chunk = JsonNode.Parse(line[6..])!;
                if (chunk["error"] is { } errorNode)
                {
                    error = errorNode["code"]?.GetValue<string>() ?? "error";
                    continue;
                }

                if (chunk["choices"] is JsonArray { Count: > 0 } choices)
                {
                    content.Append(choices[0]!["delta"]?["content"]?.GetValue<string>());
                    finishReason ??= choices[0]!["finish_reason"]?.GetValue<string>();
                }
            }
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            // The connection broke: a failure no client can take for an answer.
            return error is not null ? Verdict.Error($"stream error event ({error}) then broken") : Verdict.Error("stream broken without error event");
        }

        if (error is not null)
        {
            return Verdict.Malformed($"stream with error event '{error}' that ended cleanly");
        }

        return done && finishReason == "stop" && content.ToString() == ExpectedAnswer
            ? Verdict.Complete
            : Verdict.TruncatedAsSuccess($"stream ended cleanly (done: {done}, finish: {finishReason}) with '{content}'");
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["error"]?["message"]?.GetValue<string>();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

internal enum VerdictKind
{
    Complete,
    Error,
    ClientAbort,
    TruncatedAsSuccess,
    Malformed,
    Hung,
}

/// <summary>How one request ended; for errors, <c>Message</c> is the gateway's message, the first few of each kind shown.</summary>
internal readonly record struct Verdict(VerdictKind Kind, string? Detail = null, string? Message = null)
{
    public static Verdict Complete => new(VerdictKind.Complete);

    public static Verdict ClientAbort => new(VerdictKind.ClientAbort);

    public static Verdict Hung => new(VerdictKind.Hung);

    public static Verdict Error(string detail, string? message = null) => new(VerdictKind.Error, detail, message);

    public static Verdict TruncatedAsSuccess(string detail) => new(VerdictKind.TruncatedAsSuccess, detail);

    public static Verdict Malformed(string detail) => new(VerdictKind.Malformed, detail);
}

internal sealed class Tally
{
    private readonly ConcurrentDictionary<VerdictKind, int> _kinds = new();
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private readonly ConcurrentQueue<string> _examples = new();

    public int Sent => _kinds.Values.Sum();

    public int Complete => Count(VerdictKind.Complete);

    public int WellFormedErrors => Count(VerdictKind.Error);

    public int ClientAborts => Count(VerdictKind.ClientAbort);

    public int TruncatedAsSuccess => Count(VerdictKind.TruncatedAsSuccess);

    public int Malformed => Count(VerdictKind.Malformed);

    public int Hung => Count(VerdictKind.Hung);

    public IEnumerable<string> Examples => _examples.Take(8);

    public void Add(Verdict verdict)
    {
        _kinds.AddOrUpdate(verdict.Kind, 1, (_, count) => count + 1);
        if (verdict.Kind == VerdictKind.Error)
        {
            if (_errors.AddOrUpdate(verdict.Detail!, 1, (_, count) => count + 1) <= 2 && verdict.Message is { } message)
            {
                _examples.Enqueue($"{verdict.Detail}: {message}");
            }
        }
        else if (verdict.Kind is VerdictKind.TruncatedAsSuccess or VerdictKind.Malformed)
        {
            _examples.Enqueue($"{verdict.Kind}: {verdict.Detail}");
        }
    }

    public string ErrorStatuses() => string.Join(", ", _errors.OrderByDescending(pair => pair.Value).Select(pair => $"{pair.Key}: {pair.Value}"));

    private int Count(VerdictKind kind) => _kinds.GetValueOrDefault(kind);
}
