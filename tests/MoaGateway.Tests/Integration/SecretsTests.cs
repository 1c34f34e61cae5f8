using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>No upstream key, client key or Authorization value ever comes back to a client, whatever happens to the request.</summary>
public sealed class SecretsTests : GatewayTest
{
    private const string UpstreamKey = "sk-upstream-secret-8c1f5d";
    private const string ClientKey = "sk-client-secret-2e7a94";
    private const string EnvClientKey = "sk-client-env-secret-b3d061";
    private const string WrongKey = "sk-client-wrong-secret-f4a2c9";

    /// <summary>
    /// Every secret the gateway holds or is sent. Logs and traces captured by the observability tests should pass the
    /// same check (<see cref="AssertNoSecretIn"/>) as the responses here.
    /// </summary>
    internal static readonly string[] Secrets = [UpstreamKey, ClientKey, EnvClientKey, WrongKey];

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        upstream.Reply("broken", new FakeReply { Status = 500, ErrorMessage = $"upstream rejected key {UpstreamKey}" });
        return new GatewaySettings()
            .Provider("fake", upstream, apiKey: UpstreamKey)
            .Model("moa", [["a"]], "agg")
            .Model("failing", [["a"]], "broken")
            .Auth("app", ClientKey)
            .AuthFromEnvironment("env-app", EnvClientKey)
            // One attempt per call, so that the failures come back at once.
            .Set("MoaGateway:Providers:fake:Retry:MaxRetries", "0");
    }

    internal static void AssertNoSecretIn(string text)
    {
        foreach (var secret in Secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task No_secret_appears_in_any_response_body_or_header()
    {
        (string? Key, string Model, bool Stream, HttpStatusCode Status)[] requests =
        [
            (ClientKey, "moa", false, HttpStatusCode.OK),
            (EnvClientKey, "moa", true, HttpStatusCode.OK),
            (WrongKey, "moa", false, HttpStatusCode.Unauthorized),
            (null, "moa", false, HttpStatusCode.Unauthorized),
            (ClientKey, "failing", false, HttpStatusCode.BadGateway),
            (ClientKey, "failing", true, HttpStatusCode.BadGateway),
            (ClientKey, "fake/broken", false, HttpStatusCode.InternalServerError),
            (ClientKey, "fake/broken", true, HttpStatusCode.InternalServerError),
        ];

        foreach (var (key, model, stream, status) in requests)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "Hi" } } }),
            };
            if (key is not null)
            {
                request.Headers.Authorization = new("Bearer", key);
            }

            using var response = await Gateway.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(status == response.StatusCode, $"{model} (stream: {stream}): expected {(int)status}, got {(int)response.StatusCode}: {body}");
            AssertNoSecretIn(body);
            AssertNoSecretIn(string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}")));
        }

        Assert.Contains(Upstream.RequestsFor("broken"), r => r.Header("Authorization") == $"Bearer {UpstreamKey}");
    }

    [Fact]
    public async Task A_key_in_an_error_event_of_a_successful_pass_through_stream_is_redacted()
    {
        Upstream.Reply("revoked", new FakeReply { ErrorEventAfterFirstToken = true, ErrorMessage = $"key {UpstreamKey} revoked" });

        using var response = await PassthroughAsync("fake/revoked", stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("key [redacted] revoked", body, StringComparison.Ordinal);
        AssertNoSecretIn(body);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(12)]
    [InlineData(-1)]
    public async Task A_key_split_across_two_reads_of_a_pass_through_stream_is_redacted(int split)
    {
        split = split < 0 ? UpstreamKey.Length + split : split;
        var payload = $"data: {{\"error\":{{\"message\":\"key {UpstreamKey} revoked\"}}}}\n\ndata: [DONE]\n\n";
        var at = payload.IndexOf(UpstreamKey, StringComparison.Ordinal) + split;
        // The pause between the two pieces makes the gateway read them apart.
        Upstream.Reply("split", new FakeReply { EventStream = [payload[..at], payload[at..]], TokenDelay = TimeSpan.FromMilliseconds(100) });

        using var response = await PassthroughAsync("fake/split", stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(payload.Replace(UpstreamKey, "[redacted]", StringComparison.Ordinal), body);
    }

    [Fact]
    public async Task A_key_in_a_successful_pass_through_answer_is_redacted()
    {
        Upstream.Reply("chatty", new FakeReply { Text = $"your key is {UpstreamKey}" });

        using var response = await PassthroughAsync("fake/chatty", stream: false);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("your key is [redacted]", JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_pass_through_response_header_that_echoes_the_key_is_redacted(bool stream)
    {
        Upstream.Reply("echo", new FakeReply { EchoAuthorizationIn = "x-debug-authorization" });

        using var response = await PassthroughAsync("fake/echo", stream);
        await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer [redacted]", Assert.Single(response.Headers.GetValues("x-debug-authorization")));
        AssertNoSecretIn(string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}")));
    }

    private Task<HttpResponseMessage> PassthroughAsync(string model, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Authorization = new("Bearer", ClientKey);
        return Gateway.Http.SendAsync(request);
    }
}
