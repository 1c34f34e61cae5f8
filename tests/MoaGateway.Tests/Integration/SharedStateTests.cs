using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Two gateway processes sharing one client key's limits and budget through a real Redis (Debian's redis-server on a
/// loopback port), as two replicas behind a load balancer would; and what happens when that Redis dies and returns.
/// </summary>
public sealed class SharedStateTests : IAsyncLifetime
{
    private const string Key = "sk-client-shared-7c1d9e";
    private const string UnlimitedKey = "sk-client-unlimited-2f8a4b";

    /// <summary>A second key with the same limit as <see cref="Key"/>, whose counts start afresh.</summary>
    private const string SecondKey = "sk-client-second-90ab3c";
    private const string RedisPassword = "redis-secret-5e0c77";

    private readonly List<GatewayProcess> _gateways = [];
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            gateway.Dispose();
        }

        await _upstream.DisposeAsync();
    }

    [RedisFact]
    public async Task Two_replicas_sharing_a_key_never_admit_more_than_its_minute_limit_between_them()
    {
        using var redis = await RedisServer.StartAsync();
        var (a, b) = await StartReplicasAsync(redis, ("RequestsPerMinute", "10"));
        await UntilTheMinuteHasRoomAsync();

        // 24 requests at once, half to each replica; a replica on its own would admit 10 of its 12.
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => SendAsync(i % 2 == 0 ? a : b, HttpMethod.Get, "/v1/models")));

        Assert.Equal(10, responses.Count(response => response.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(14, refused.Count);
        foreach (var response in refused)
        {
            Assert.InRange(response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
            Assert.Equal("rate_limit_exceeded", (await ErrorAsync(response, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        }

        Dispose(responses);
    }

    [RedisFact]
    public async Task Concurrency_slots_are_shared_by_the_replicas_and_given_back_when_requests_end()
    {
        using var redis = await RedisServer.StartAsync();
        var release = new TaskCompletionSource();
        _upstream.Reply("agg", new FakeReply { Text = "held answer", HoldAfterFirstToken = release.Task });
        var (a, b) = await StartReplicasAsync(redis, ("MaxConcurrentRequests", "2"));

        using var heldOnA = await OpenHeldStreamAsync(a);
        using var heldOnB = await OpenHeldStreamAsync(b);
        using var refusedOnA = await SendAsync(a, HttpMethod.Get, "/v1/models");
        using var refusedOnB = await SendAsync(b, HttpMethod.Get, "/v1/models");

        Assert.Equal("concurrency_limit_exceeded", (await ErrorAsync(refusedOnA, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Equal("concurrency_limit_exceeded", (await ErrorAsync(refusedOnB, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        release.SetResult();
        Assert.True((await SseTranscript.ReadAsync(heldOnA)).EndedWithDone);
        Assert.True((await SseTranscript.ReadAsync(heldOnB)).EndedWithDone);
        await Eventually.True(async () => await StatusAsync(a) == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(b));
    }

    [RedisFact]
    public async Task The_slots_of_a_killed_replica_expire_with_their_lease()
    {
        using var redis = await RedisServer.StartAsync();
        _upstream.Reply("agg", new FakeReply { Text = "held answer", HoldAfterFirstToken = new TaskCompletionSource().Task });
        var (a, b) = await StartReplicasAsync(redis, ("MaxConcurrentRequests", "2"));
        var heldOnA = new[] { await OpenHeldStreamAsync(a), await OpenHeldStreamAsync(a) };
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(b));

        a.Process.Kill();
        var killed = Stopwatch.StartNew();

        // The lease is 2 s: no replica renews the killed one's slots, and Redis lets them go.
        await Eventually.True(async () => await StatusAsync(b) == HttpStatusCode.OK);
        Assert.True(killed.Elapsed >= TimeSpan.FromSeconds(1), $"the slots were free after {killed.Elapsed.TotalSeconds:0.0} s, before their lease could have run out");
        Dispose(heldOnA);
    }

    [RedisFact]
    public async Task A_budget_spent_through_one_replica_stops_the_key_on_both_after_the_request_that_crossed_it()
    {
        using var redis = await RedisServer.StartAsync();
        // At 2000 dollars per million tokens, one call of 11 + 3 tokens costs 0.028, over the key's 0.02 a day.
        var (a, b) = await StartReplicasAsync(redis, ("Budget__UsdPerDay", "0.02"));

        using var crossing = await ChatAsync(a, Key);
        using var refusedOnB = await ChatAsync(b, Key);
        using var refusedOnA = await ChatAsync(a, Key);
        using var me = await SendAsync(b, HttpMethod.Get, "/v1/me");

        Assert.Equal(HttpStatusCode.OK, crossing.StatusCode);
        Assert.Equal("insufficient_quota", (await ErrorAsync(refusedOnB, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Equal("insufficient_quota", (await ErrorAsync(refusedOnA, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Single(_upstream.RequestsFor("agg"));
        Assert.Equal(0.028m, JsonNode.Parse(await me.Content.ReadAsStringAsync())!["spend"]!["day"]!["spent_usd"]!.GetValue<decimal>());
    }

    [RedisFact]
    public async Task With_redis_down_a_replica_failing_open_answers_promptly_counts_alone_and_shares_again_when_redis_returns()
    {
        using var redis = await RedisServer.StartAsync(RedisPassword);
        var (a, b) = await StartReplicasAsync(redis, ("RequestsPerMinute", "4"), timeoutMs: 300);
        await UntilTheMinuteHasRoomAsync();
        redis.Kill();

        var during = Stopwatch.StartNew();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await ChatAsync(a, Key);
            statuses.Add(response.StatusCode);
        }

        // No request waited on the dead Redis beyond its 300 ms timeout, and the replica held the key to its limit alone.
        Assert.True(during.Elapsed < TimeSpan.FromSeconds(20), $"six requests took {during.Elapsed.TotalSeconds:0.0} s with Redis down");
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 4), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        var ready = JsonNode.Parse(await a.Http.GetStringAsync("/readyz"))!;
        Assert.Equal("degraded", ready["checks"]!["redis"]!["status"]!.GetValue<string>());
        Assert.Contains("fail open", ready["checks"]!["redis"]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(a.Output, line => line.Contains("did not answer", StringComparison.Ordinal) && line.Contains("fail open", StringComparison.Ordinal));

        await redis.RestartAsync();
        await Eventually.True(async () => JsonNode.Parse(await a.Http.GetStringAsync("/readyz"))!["checks"]!["redis"]!["status"]!.GetValue<string>() == "healthy");

        // The four answers charged while Redis was down are stored now, where the other replica reads them.
        await Eventually.True(async () => await SpentTodayAsync(b) == 4 * 0.028m);
        await UntilTheMinuteHasRoomAsync();
        var after = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => SendAsync(i % 2 == 0 ? a : b, HttpMethod.Get, "/v1/models", SecondKey)));
        Assert.Equal(4, after.Count(response => response.StatusCode == HttpStatusCode.OK));
        Dispose(after);
        Assert.DoesNotContain(RedisPassword, a.OutputText + a.Errors + b.OutputText + b.Errors, StringComparison.Ordinal);
    }

    [RedisFact]
    public async Task With_redis_down_a_replica_failing_closed_refuses_limited_keys_with_503_and_serves_again_when_redis_returns()
    {
        using var redis = await RedisServer.StartAsync();
        // Failing closed turns a slow Redis answer into a refusal, so the request before the kill needs a timeout a loaded machine meets.
        var (a, _) = await StartReplicasAsync(redis, ("RequestsPerMinute", "100"), failClosed: true, timeoutMs: 1500);
        using (var before = await ChatAsync(a, Key))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        redis.Kill();

        using var refused = await ChatAsync(a, Key);
        using var unlimited = await ChatAsync(a, UnlimitedKey);
        using var ready = await a.Http.GetAsync("/readyz");

        Assert.Equal("shared_state_unavailable", (await ErrorAsync(refused, HttpStatusCode.ServiceUnavailable))["code"]!.GetValue<string>());
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, unlimited.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("fail closed", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await redis.RestartAsync();
        await Eventually.True(async () =>
        {
            using var response = await ChatAsync(a, Key);
            return response.StatusCode == HttpStatusCode.OK;
        });
    }

    [RedisFact]
    public async Task With_redis_frozen_no_request_waits_on_it_longer_than_its_timeout()
    {
        using var redis = await RedisServer.StartAsync();
        var (a, _) = await StartReplicasAsync(redis, ("RequestsPerMinute", "100"), timeoutMs: 300);
        await redis.FreezeAsync();
        try
        {
            var frozen = Stopwatch.StartNew();
            using var first = await ChatAsync(a, Key);
            using var second = await ChatAsync(a, Key);

            // The first waits out its timeout and the replica counts alone; the second does not ask the frozen Redis at all.
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.True(frozen.Elapsed < TimeSpan.FromSeconds(20), $"two requests took {frozen.Elapsed.TotalSeconds:0.0} s with Redis frozen");
            Assert.Equal("degraded", JsonNode.Parse(await a.Http.GetStringAsync("/readyz"))!["checks"]!["redis"]!["status"]!.GetValue<string>());
        }
        finally
        {
            await redis.ThawAsync();
        }

        await Eventually.True(async () => JsonNode.Parse(await a.Http.GetStringAsync("/readyz"))!["checks"]!["redis"]!["status"]!.GetValue<string>() == "healthy");
    }

    [RedisFact]
    public async Task A_client_that_goes_away_mid_stream_gives_its_slot_back_at_once()
    {
        using var redis = await RedisServer.StartAsync();
        _upstream.Reply("agg", new FakeReply { Text = "held answer", HoldAfterFirstToken = new TaskCompletionSource().Task });
        // The lease is long here, so only the gateway giving the slot back can free it within the test.
        var (a, b) = await StartReplicasAsync(redis, ("MaxConcurrentRequests", "1"), leaseSeconds: 60);
        var held = await OpenHeldStreamAsync(a);
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(b));

        held.Dispose();

        await Eventually.True(async () => await StatusAsync(b) == HttpStatusCode.OK);
        Assert.Contains("agg", await EventuallyAbortedAsync());
    }

    [RedisFact]
    public async Task A_replica_stopped_with_sigterm_gives_its_slots_back_as_its_requests_end()
    {
        using var redis = await RedisServer.StartAsync();
        _upstream.Reply("agg", new FakeReply { Text = "held answer", HoldAfterFirstToken = new TaskCompletionSource().Task });
        var (a, b) = await StartReplicasAsync(redis, ("MaxConcurrentRequests", "1"), leaseSeconds: 60, drainSeconds: 1);
        using var held = await OpenHeldStreamAsync(a);
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(b));

        Assert.Equal(0, await a.TerminateAsync());

        // The drain cut the held stream, and its slot went back to Redis before the process exited.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(b));
    }

    [RedisFact]
    public async Task A_reload_that_names_a_redis_counts_there_from_the_next_request_on()
    {
        using var redis = await RedisServer.StartAsync();
        var (_, b) = await StartReplicasAsync(redis, ("RequestsPerMinute", "100"));
        var directory = Directory.CreateTempSubdirectory("moagateway-shared-").FullName;
        var file = Path.Combine(directory, "moagateway.json");
        try
        {
            // This one starts counting in its memory, while the replicas above count in Redis.
            await File.WriteAllTextAsync(file, """{ "MoaGateway": { "SharedState": { "Redis": "" } } }""");
            var environment = ReplicaEnvironment(redis, ("RequestsPerMinute", "100"), failClosed: false, timeoutMs: 3000, leaseSeconds: 2, drainSeconds: 30);
            environment.Remove("MoaGateway__SharedState__Redis");
            environment["MOAGATEWAY_CONFIG"] = file;
            var reloaded = GatewayProcess.Start(environment);
            _gateways.Add(reloaded);
            await reloaded.WaitUntilServingAsync();
            using (var inMemory = await ChatAsync(reloaded, Key))
            {
                Assert.Equal(HttpStatusCode.OK, inMemory.StatusCode);
            }

            Assert.Equal(0m, await SpentTodayAsync(b));

            await File.WriteAllTextAsync(file, $$"""{ "MoaGateway": { "SharedState": { "Redis": "{{redis.Configuration}}" } } }""");
            await Eventually.True(async () =>
                JsonNode.Parse(await reloaded.Http.GetStringAsync("/readyz"))!["checks"]!["redis"]!["description"]!.GetValue<string>().StartsWith("Redis at", StringComparison.Ordinal));
            using (var shared = await ChatAsync(reloaded, Key))
            {
                Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
            }

            // Only the request made after the reload was charged in Redis, where the other replica reads it.
            Assert.Equal(0.028m, await SpentTodayAsync(b));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Two gateway processes sharing <paramref name="redis"/>, <paramref name="limit"/> set for the keys <c>team</c> and
    /// <c>second</c>. Redis calls get <paramref name="timeoutMs"/>: generous where a slow answer on a loaded machine would
    /// make a replica count alone, short where Redis is killed.
    /// </summary>
    private async Task<(GatewayProcess A, GatewayProcess B)> StartReplicasAsync(
        RedisServer redis, (string Name, string Value) limit, bool failClosed = false, int timeoutMs = 3000, int leaseSeconds = 2, int drainSeconds = 30)
    {
        var environment = ReplicaEnvironment(redis, limit, failClosed, timeoutMs, leaseSeconds, drainSeconds);
        var a = GatewayProcess.Start(environment);
        var b = GatewayProcess.Start(environment);
        _gateways.Add(a);
        _gateways.Add(b);
        await Task.WhenAll(a.WaitUntilServingAsync(), b.WaitUntilServingAsync());
        return (a, b);
    }

    private Dictionary<string, string> ReplicaEnvironment(
        RedisServer redis, (string Name, string Value) limit, bool failClosed, int timeoutMs, int leaseSeconds, int drainSeconds)
    {
        var environment = GatewayProcess.SimulatedEnvironment();
        environment["MoaGateway__Providers__fake__BaseUrl"] = _upstream.BaseUrl;
        environment["MoaGateway__Models__m__Aggregator"] = "fake/agg";
        environment["MoaGateway__Pricing__0__Model"] = "fake/*";
        environment["MoaGateway__Pricing__0__InputPerMillion"] = "2000";
        environment["MoaGateway__Pricing__0__OutputPerMillion"] = "2000";
        environment["MoaGateway__Auth__Keys__team__Sha256"] = Sha256(Key);
        environment[$"MoaGateway__Auth__Keys__team__{limit.Name}"] = limit.Value;
        environment["MoaGateway__Auth__Keys__second__Sha256"] = Sha256(SecondKey);
        environment[$"MoaGateway__Auth__Keys__second__{limit.Name}"] = limit.Value;
        environment["MoaGateway__Auth__Keys__unlimited__Sha256"] = Sha256(UnlimitedKey);
        environment["MoaGateway__SharedState__Redis"] = redis.Configuration;
        environment["MoaGateway__SharedState__FailClosed"] = failClosed ? "true" : "false";
        environment["MoaGateway__SharedState__LeaseSeconds"] = leaseSeconds.ToString(CultureInfo.InvariantCulture);
        environment["MoaGateway__ShutdownDrainSeconds"] = drainSeconds.ToString(CultureInfo.InvariantCulture);
        environment["MoaGateway__SharedState__TimeoutMs"] = timeoutMs.ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    /// <summary>Waits, when the current minute is nearly over, for the next: a fixed window that turned during a test would double what it admits.</summary>
    private static async Task UntilTheMinuteHasRoomAsync()
    {
        var now = DateTimeOffset.UtcNow;
        if (now.Second > 40)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - now.Second));
        }
    }

    private static async Task<HttpResponseMessage> OpenHeldStreamAsync(GatewayProcess gateway)
    {
        using var request = Request(HttpMethod.Post, "/v1/chat/completions", Key, """{"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");
        var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private async Task<IReadOnlyList<string>> EventuallyAbortedAsync()
    {
        await Eventually.True(() => _upstream.AbortedModels.Count > 0);
        return _upstream.AbortedModels;
    }

    private static async Task<HttpStatusCode> StatusAsync(GatewayProcess gateway)
    {
        using var response = await SendAsync(gateway, HttpMethod.Get, "/v1/models");
        return response.StatusCode;
    }

    private static async Task<decimal> SpentTodayAsync(GatewayProcess gateway)
    {
        using var response = await SendAsync(gateway, HttpMethod.Get, "/v1/me");
        return response.IsSuccessStatusCode
            ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["spend"]!["day"]!["spent_usd"]!.GetValue<decimal>()
            : -1;
    }

    private static Task<HttpResponseMessage> ChatAsync(GatewayProcess gateway, string key) =>
        gateway.Http.SendAsync(Request(HttpMethod.Post, "/v1/chat/completions", key, """{"model":"m","messages":[{"role":"user","content":"Hi"}]}"""));

    private static async Task<HttpResponseMessage> SendAsync(GatewayProcess gateway, HttpMethod method, string path, string key = Key)
    {
        using var request = Request(method, path, key, body: null);
        var response = await gateway.Http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string key, string? body)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", key);
        return request;
    }

    private static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["error"]!;
    }

    private static void Dispose(IEnumerable<HttpResponseMessage> responses)
    {
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
