using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary>Client keys on <c>/v1</c>: who gets in, which models each key may use, and each key's own limits.</summary>
public sealed class AccessControlTests : GatewayTest
{
    private const string FullKey = "sk-client-full-0f3c9a";
    private const string EnvKey = "sk-client-env-77d1e2";
    private const string LiteKey = "sk-client-lite-5b2a80";
    private const string MeteredKey = "sk-client-metered-c4e6f1";
    private const string SingleKey = "sk-client-single-9e0b37";

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings()
            .Provider("fake", upstream)
            .Provider("other", upstream)
            .Model("moa", [["a"]], "agg")
            .Model("lite", [["a"]], "agg-lite")
            .Auth("full", FullKey)
            .AuthFromEnvironment("from-env", EnvKey)
            .Auth("lite-only", LiteKey, "lite", "fake/*")
            .Auth("metered", MeteredKey).Set("MoaGateway:Auth:Keys:metered:RequestsPerMinute", "2")
            .Auth("single", SingleKey).Set("MoaGateway:Auth:Keys:single:MaxConcurrentRequests", "1");
    }

    [Fact]
    public async Task Without_configured_keys_v1_is_open()
    {
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", Upstream).Model("moa", [["a"]], "agg"));

        using var chat = await gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat("moa"));
        using var models = await gateway.Http.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    [Fact]
    public async Task A_request_without_a_key_gets_401_invalid_api_key()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", Chat("moa"));

        var error = await ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.True(response.Headers.Contains("x-request-id"));
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_wrong_key_gets_401_that_does_not_echo_it()
    {
        const string wrong = "sk-client-wrong-1a2b3c";

        using var response = await SendAsync(HttpMethod.Post, "/v1/chat/completions", wrong, Chat("moa"));

        var body = await response.Content.ReadAsStringAsync();
        var error = await ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
        Assert.DoesNotContain(wrong, body, StringComparison.Ordinal);
        Assert.DoesNotContain("1a2b3c", body, StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_key_configured_by_its_sha256_works_through_the_sdk()
    {
        ChatCompletion answer = await Gateway.ChatClient("moa", FullKey).CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal(FakeUpstream.DefaultText("agg"), answer.Content[0].Text);
    }

    [Fact]
    public async Task A_key_configured_through_an_environment_variable_works_through_the_sdk()
    {
        ChatCompletion answer = await Gateway.ChatClient("moa", EnvKey).CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.Equal(FakeUpstream.DefaultText("agg"), answer.Content[0].Text);
    }

    [Fact]
    public async Task The_sdk_reports_a_wrong_key_as_401()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(
            () => Gateway.ChatClient("moa", "sk-client-wrong").CompleteChatAsync([new UserChatMessage("Hi")]));

        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task A_key_gets_403_for_a_model_it_is_not_allowed()
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/chat/completions", LiteKey, Chat("moa"));

        var body = await response.Content.ReadAsStringAsync();
        var error = await ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("model_not_allowed", error["code"]!.GetValue<string>());
        Assert.Equal("model", error["param"]!.GetValue<string>());
        Assert.DoesNotContain("lite-only", body, StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_provider_wildcard_allows_pass_through_to_that_provider_only()
    {
        using var allowed = await SendAsync(HttpMethod.Post, "/v1/chat/completions", LiteKey, Chat("fake/solo"));
        using var refused = await SendAsync(HttpMethod.Post, "/v1/chat/completions", LiteKey, Chat("other/solo"));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("model_not_allowed", (await ErrorAsync(refused, HttpStatusCode.Forbidden))["code"]!.GetValue<string>());
        Assert.Single(Upstream.Requests);
    }

    [Fact]
    public async Task Models_lists_and_retrieves_only_the_models_of_the_key()
    {
        Assert.Equal(["lite"], await ModelIdsAsync(LiteKey));
        Assert.Equal(["lite", "moa"], await ModelIdsAsync(FullKey));

        using var hidden = await SendAsync(HttpMethod.Get, "/v1/models/moa", LiteKey);
        using var shown = await SendAsync(HttpMethod.Get, "/v1/models/moa", FullKey);

        Assert.Equal("model_not_found", (await ErrorAsync(hidden, HttpStatusCode.NotFound))["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
    }

    [Fact]
    public async Task Health_endpoints_need_no_key()
    {
        using var live = await Gateway.Http.GetAsync("/healthz");
        using var ready = await Gateway.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task A_key_over_its_requests_per_minute_gets_429_with_retry_after_while_other_keys_pass()
    {
        for (var i = 0; i < 2; i++)
        {
            using var served = await SendAsync(HttpMethod.Post, "/v1/chat/completions", MeteredKey, Chat("moa"));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using var refused = await SendAsync(HttpMethod.Post, "/v1/chat/completions", MeteredKey, Chat("moa"));
        using var other = await SendAsync(HttpMethod.Post, "/v1/chat/completions", FullKey, Chat("moa"));

        var body = await refused.Content.ReadAsStringAsync();
        var error = await ErrorAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("rate_limit_error", error["type"]!.GetValue<string>());
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.DoesNotContain("metered", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(3, Upstream.RequestsFor("agg").Count);
    }

    [Fact]
    public async Task A_key_at_its_concurrency_limit_gets_429_while_other_keys_pass()
    {
        var release = new TaskCompletionSource();
        Upstream.Reply("agg", new FakeReply { Text = "held answer", HoldAfterFirstToken = release.Task });

        await using var held = Gateway.ChatClient("moa", SingleKey).CompleteChatStreamingAsync([new UserChatMessage("Hi")]).GetAsyncEnumerator();
        Assert.Equal("held", await StreamingUpdates.FirstContentAsync(held));
        using var refused = await SendAsync(HttpMethod.Post, "/v1/chat/completions", SingleKey, Chat("lite"));
        using var other = await SendAsync(HttpMethod.Post, "/v1/chat/completions", FullKey, Chat("lite"));

        var error = await ErrorAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("concurrency_limit_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        release.SetResult();
        Assert.Equal(" answer", await StreamingUpdates.RestAsync(held));
        using var after = await SendAsync(HttpMethod.Post, "/v1/chat/completions", SingleKey, Chat("lite"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    private static object Chat(string model) => new { model, messages = new[] { new { role = "user", content = "Hi" } } };

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", key);
        return await Gateway.Http.SendAsync(request);
    }

    private async Task<IReadOnlyList<string>> ModelIdsAsync(string key)
    {
        using var response = await SendAsync(HttpMethod.Get, "/v1/models", key);
        response.EnsureSuccessStatusCode();
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]!.AsArray().Select(model => model!["id"]!.GetValue<string>())];
    }

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["error"]!;
    }
}
