using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Moderations;

namespace MoaGateway.Tests.Integration;

/// <summary><c>POST /v1/completions</c>, <c>/v1/embeddings</c> and <c>/v1/moderations</c>: pass-through by the chat route's rule and under its access control.</summary>
public sealed class PassthroughRoutesTests : GatewayTest
{
    private const string UpstreamKey = "sk-routes-upstream-key-7";

    public static TheoryData<string> Endpoints => new() { "completions", "embeddings", "moderations" };

    /// <summary>Every endpoint with every body the gateway refuses before any provider sees it, and the param and code of the 400.</summary>
    public static TheoryData<string, string, string?, string?> InvalidBodies()
    {
        (string Body, string? Param, string? Code)[] bodies =
        [
            ("""{"model":""", null, "invalid_json"),
            ("""["fake/m"]""", null, null),
            ("""{"input":"Hi","model":5}""", "model", null),
            ("""{"input":"Hi","model":""}""", "model", null),
            ("""{"model":"fake/m","input":["ok","\ud800"]}""", "input[1]", "invalid_unicode"),
            ("""{"model":"fake/m","input":"Hi","moa":{"layers":[]}}""", "moa", "unsupported_parameter"),
        ];
        var data = new TheoryData<string, string, string?, string?>();
        foreach (var endpoint in Endpoints)
        {
            foreach (var (body, param, code) in bodies)
            {
                data.Add(endpoint, body, param, code);
            }
        }

        return data;
    }

    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream, apiKey: UpstreamKey)
        .Set("MoaGateway:Providers:fake:Headers:X-Team", "search")
        .Model("duo", [["p1"]], "agg");

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Each_endpoint_forwards_to_the_providers_same_endpoint_with_the_model_rewritten_and_the_providers_key(string endpoint)
    {
        const string body = """{"model":"fake/org/m-1","input":"Hi \u00e9",  "prompt":"Hi","x_vendor":{"a":[1,2]}}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/{endpoint}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "client-key-must-not-travel");

        using var response = await Gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(Upstream.Requests);
        Assert.Equal($"/v1/{endpoint}", received.Path);
        Assert.Equal(body.Replace("fake/org/m-1", "org/m-1", StringComparison.Ordinal), received.Body);
        Assert.Equal($"Bearer {UpstreamKey}", received.Header("Authorization"));
        Assert.Equal("search", received.Header("X-Team"));
        Assert.Equal("org/m-1", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_sdks_embedding_client_gets_the_providers_vector()
    {
        OpenAIEmbedding embedding = await Gateway.Client().GetEmbeddingClient("fake/text-embedding-3-small").GenerateEmbeddingAsync("Hi");

        Assert.Equal([0.25f, -0.5f, 1f], embedding.ToFloats().ToArray());
        var received = Assert.Single(Upstream.Requests);
        Assert.Equal("/v1/embeddings", received.Path);
        Assert.Equal("text-embedding-3-small", received.Model);
    }

    [Fact]
    public async Task The_sdks_moderation_client_gets_the_providers_verdict()
    {
        ModerationResult result = await Gateway.Client().GetModerationClient("fake/omni-moderation-latest").ClassifyTextAsync("Hi");

        Assert.True(result.Flagged);
        var received = Assert.Single(Upstream.Requests);
        Assert.Equal("/v1/moderations", received.Path);
        Assert.Equal("omni-moderation-latest", received.Model);
    }

    [Fact]
    public async Task A_streamed_completion_is_relayed_byte_for_byte()
    {
        string[] pieces =
        [
            "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"one\",\"finish_reason\":null}]}\n\n",
            "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\" two\",\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        ];
        Upstream.Reply("instruct", new FakeReply { EventStream = pieces });

        using var response = await Gateway.Http.PostAsync("/v1/completions", Json("""{"model":"fake/instruct","prompt":"Count","stream":true}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(string.Concat(pieces), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_provider_error_is_relayed_with_its_status_and_body_and_the_key_redacted(string endpoint)
    {
        Upstream.Reply("broken", new FakeReply { Status = 429, ErrorMessage = $"Slow down, {UpstreamKey}." });

        using var response = await Gateway.Http.PostAsync($"/v1/{endpoint}", Json("""{"model":"fake/broken","input":"Hi"}"""));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("Slow down, [redacted].", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_virtual_model_gets_a_400_saying_virtual_models_answer_only_chat_and_responses(string endpoint)
    {
        using var response = await Gateway.Http.PostAsync($"/v1/{endpoint}", Json("""{"model":"duo","input":"Hi"}"""));

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("model", error["param"]!.GetValue<string>());
        Assert.Equal("unsupported_model", error["code"]!.GetValue<string>());
        Assert.Equal(
            $"'duo' is a virtual model, and virtual models answer only POST /v1/chat/completions and POST /v1/responses. POST /v1/{endpoint} passes through to a provider: name its model as '<provider>/<model>'.",
            error["message"]!.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task An_invalid_body_gets_an_openai_400_and_reaches_no_provider(string endpoint, string body, string? param, string? code)
    {
        using var response = await Gateway.Http.PostAsync($"/v1/{endpoint}", Json(body));

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Equal(code, error["code"]?.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_moderation_without_a_model_is_asked_for_a_provider_model()
    {
        using var response = await Gateway.Http.PostAsync("/v1/moderations", Json("""{"input":"Hi"}"""));

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("model", error["param"]!.GetValue<string>());
        Assert.Contains("'<provider>/<model>'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task An_unknown_provider_gets_404_model_not_found()
    {
        using var response = await Gateway.Http.PostAsync("/v1/embeddings", Json("""{"model":"nowhere/m","input":"Hi"}"""));

        Assert.Equal("model_not_found", (await ErrorAsync(response, HttpStatusCode.NotFound))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_endpoint_the_gateway_does_not_serve_keeps_its_openai_404()
    {
        using var response = await Gateway.Http.PostAsync("/v1/audio/speech", Json("""{"model":"fake/tts-1","input":"Hi","voice":"alloy"}"""));

        Assert.Equal("unknown_url", (await ErrorAsync(response, HttpStatusCode.NotFound))["code"]!.GetValue<string>());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_client_key_may_pass_through_only_the_models_it_is_allowed()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Auth("narrow", "sk-client-narrow", "fake/allowed"));

        using var refused = await PostAsync(gateway, "/v1/embeddings", "sk-client-narrow", """{"model":"fake/other","input":"Hi"}""");
        using var allowed = await PostAsync(gateway, "/v1/embeddings", "sk-client-narrow", """{"model":"fake/allowed","input":"Hi"}""");

        Assert.Equal("model_not_allowed", (await ErrorAsync(refused, HttpStatusCode.Forbidden))["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(["allowed"], Upstream.Requests.Select(request => request.Model));
    }

    [Fact]
    public async Task A_key_that_spent_its_budget_is_refused_before_any_provider_call()
    {
        // At 1000 dollars per million tokens, the mixture (two calls of 14 tokens) costs 0.028, over the budget of 0.02.
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream)
            .Set("MoaGateway:Pricing:0:Model", "fake/*")
            .Set("MoaGateway:Pricing:0:InputPerMillion", "1000")
            .Set("MoaGateway:Pricing:0:OutputPerMillion", "1000")
            .Auth("spent", "sk-client-spent")
            .Set("MoaGateway:Auth:Keys:spent:Budget:UsdPerDay", "0.02"));
        using (var spending = await PostAsync(gateway, "/v1/chat/completions", "sk-client-spent", """{"model":"duo","messages":[{"role":"user","content":"Hi"}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, spending.StatusCode);
        }

        using var refused = await PostAsync(gateway, "/v1/embeddings", "sk-client-spent", """{"model":"fake/embed","input":"Hi"}""");

        Assert.Equal("insufficient_quota", (await ErrorAsync(refused, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Empty(Upstream.RequestsFor("embed"));
    }

    [Fact]
    public async Task The_gateways_concurrency_cap_counts_pass_through_requests_with_chat_ones()
    {
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream).Set("MoaGateway:Limits:MaxConcurrentRequests", "1"));
        var release = new TaskCompletionSource();
        Upstream.Reply("held", new FakeReply { Text = "one two", HoldAfterFirstToken = release.Task });
        await using var held = gateway.ChatClient("fake/held").CompleteChatStreamingAsync([new UserChatMessage("Hi")]).GetAsyncEnumerator();
        await StreamingUpdates.FirstContentAsync(held);

        using var refused = await gateway.Http.PostAsync("/v1/embeddings", Json("""{"model":"fake/embed","input":"Hi"}"""));
        release.SetResult();
        await StreamingUpdates.RestAsync(held);
        using var admitted = await gateway.Http.PostAsync("/v1/embeddings", Json("""{"model":"fake/embed","input":"Hi"}"""));

        Assert.Equal("concurrency_limit_exceeded", (await ErrorAsync(refused, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Single(Upstream.RequestsFor("embed"));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> PostAsync(GatewayHost gateway, string path, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await gateway.Http.SendAsync(request);
    }

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
    }
}
