using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

/// <summary><c>&lt;provider&gt;/&lt;model&gt;</c> goes to that provider as is, answer relayed as it arrives.</summary>
public sealed class PassthroughTests : GatewayTest
{
    private const string UpstreamKey = "sk-passthrough-key-42";

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings()
            .Provider("fake", upstream, apiKey: UpstreamKey)
            .Set("MoaGateway:Providers:fake:Headers:X-Team", "search")
            .Model("duo", [["p1"]], "agg");
    }

    [Fact]
    public async Task Request_reaches_the_provider_byte_for_byte_except_the_model_name()
    {
        const string body = """{"model":"fake/meta-llama/Llama-3.3-70B","messages":[{"role":"user","content":"Hi \u00e9"}],  "top_k": 5, "x_vendor":{"a":[1,2]}}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.Authorization = new("Bearer", "client-key-must-not-travel");

        using var response = await Gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(Upstream.Requests);
        Assert.Equal(body.Replace("fake/meta-llama/Llama-3.3-70B", "meta-llama/Llama-3.3-70B", StringComparison.Ordinal), received.Body);
        Assert.Equal($"Bearer {UpstreamKey}", received.Header("Authorization"));
        Assert.Equal("search", received.Header("X-Team"));
        Assert.Equal(FakeUpstream.DefaultText("meta-llama/Llama-3.3-70B"),
            JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Streamed_answer_is_relayed_as_the_provider_sends_it()
    {
        var release = new TaskCompletionSource();
        Upstream.Reply("solo", new FakeReply { Text = "one two", HoldAfterFirstToken = release.Task });

        await using var updates = Gateway.ChatClient("fake/solo").CompleteChatStreamingAsync([new UserChatMessage("Hi")]).GetAsyncEnumerator();
        var first = await StreamingUpdates.FirstContentAsync(updates);

        Assert.Equal("one", first);
        Assert.False(release.Task.IsCompleted, "the first token arrived only after the provider finished");
        release.SetResult();
        var rest = await StreamingUpdates.RestAsync(updates);

        Assert.Equal(" two", rest);
    }

    [Fact]
    public async Task A_stream_that_ends_with_done_is_relayed_byte_for_byte()
    {
        string[] pieces =
        [
            ": upstream keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"one\"}}]}\r\n\r\n",
            "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" two\"},\"finish_reason\":\"stop\"}]}\n\nda",
            "ta: [DONE]\n\n",
        ];
        Upstream.Reply("solo", new FakeReply { EventStream = pieces });

        using var content = new StringContent("""{"model":"fake/solo","stream":true,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Encoding.UTF8.GetBytes(string.Concat(pieces)), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Provider_errors_are_relayed_with_their_status_and_body()
    {
        Upstream.Reply("broken", new FakeReply { Status = 429 });

        using var content = new StringContent("""{"model":"fake/broken","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal("scripted failure of broken", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_provider_error_that_echoes_its_key_is_relayed_with_the_key_redacted()
    {
        Upstream.Reply("broken", new FakeReply { Status = 401, ErrorMessage = $"Incorrect API key provided: {UpstreamKey}." });

        using var content = new StringContent("""{"model":"fake/broken","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Incorrect API key provided: [redacted].",
            JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_providers_cors_request_id_and_framing_headers_give_way_to_the_gateways()
    {
        Upstream.Reply("solo", new FakeReply
        {
            Headers = new Dictionary<string, string>
            {
                ["Access-Control-Allow-Origin"] = "*",
                ["x-request-id"] = "provider-request-1",
                ["X-Frame-Options"] = "SAMEORIGIN",
            },
        });

        using var content = new StringContent("""{"model":"fake/solo","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Matches("^req_[0-9a-f]{24}$", Assert.Single(response.Headers.GetValues("x-request-id")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    [Fact]
    public async Task Unreachable_provider_gives_502()
    {
        var port = FreePort.Pick();
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Set("MoaGateway:Providers:gone:BaseUrl", $"http://127.0.0.1:{port}/v1")
            .Provider("fake", Upstream)
            .Model("duo", [["p1"]], "agg"));

        using var content = new StringContent("""{"model":"gone/x","messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json");
        using var response = await gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_error", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
    }
}
