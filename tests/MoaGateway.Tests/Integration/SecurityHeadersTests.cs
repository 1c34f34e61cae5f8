using System.Net;
using System.Net.Http.Json;
using System.Text;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>What every response carries (security headers, a request id) and CORS, closed unless configured.</summary>
public sealed class SecurityHeadersTests : GatewayTest
{
    private const string AppOrigin = "https://app.example.com";

    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        return new GatewaySettings().Provider("fake", upstream).Model("moa", [["a"]], "agg");
    }

    [Fact]
    public async Task A_preflight_gets_no_cors_headers_by_default()
    {
        using var response = await Gateway.Http.SendAsync(Preflight(AppOrigin));

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_configured_origin_gets_cors_headers_before_any_key_check_and_other_origins_do_not()
    {
        const string key = "sk-client-browser-4d5e6f";
        await using var gateway = await GatewayHost.StartAsync(Configure(Upstream)
            .Set("MoaGateway:Cors:AllowedOrigins:0", AppOrigin)
            .Auth("browser", key));

        using var preflight = await gateway.Http.SendAsync(Preflight(AppOrigin));
        using var foreign = await gateway.Http.SendAsync(Preflight("https://evil.example.com"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("Origin", AppOrigin);
        request.Headers.Authorization = new("Bearer", key);
        using var actual = await gateway.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(AppOrigin, Header(preflight, "Access-Control-Allow-Origin"));
        var allowedHeaders = Header(preflight, "Access-Control-Allow-Headers")!;
        Assert.Contains("authorization", allowedHeaders, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-type", allowedHeaders, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("POST", Header(preflight, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        Assert.False(foreign.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.OK, actual.StatusCode);
        Assert.Equal(AppOrigin, Header(actual, "Access-Control-Allow-Origin"));
        Assert.Equal("x-request-id", Header(actual, "Access-Control-Expose-Headers"), ignoreCase: true);
    }

    [Fact]
    public async Task Security_headers_are_on_a_200_a_404_and_a_stream_which_keeps_its_own_cache_control()
    {
        using var ok = await Gateway.Http.GetAsync("/v1/models");
        using var missing = await Gateway.Http.GetAsync("/v1/nothing-here");
        using var stream = await Gateway.Http.PostAsJsonAsync(
            "/v1/chat/completions", new { model = "moa", stream = true, messages = new[] { new { role = "user", content = "Hi" } } });
        var transcript = await SseTranscript.ReadAsync(stream);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        foreach (var response in new[] { ok, missing, stream })
        {
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            Assert.Equal("DENY", Header(response, "X-Frame-Options"));
            Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
            Assert.Equal("default-src 'none'; frame-ancestors 'none'", Header(response, "Content-Security-Policy"));
        }

        Assert.Equal("no-store", Header(ok, "Cache-Control"));
        Assert.Equal("no-store", Header(missing, "Cache-Control"));
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", Header(stream, "Cache-Control"));
        Assert.True(transcript.EndedWithDone);
    }

    [Fact]
    public async Task A_sane_request_id_is_echoed()
    {
        const string id = "client-42_retry.1";

        using var response = await SendWithRequestIdAsync(id);

        Assert.Equal(id, Header(response, "x-request-id"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("<script>")]
    [InlineData("line\\nbreak")]
    [InlineData("x-too-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task An_unsafe_or_missing_request_id_is_replaced_by_a_generated_one(string sent)
    {
        using var response = await SendWithRequestIdAsync(sent);

        Assert.Matches("^req_[0-9a-f]{24}$", Header(response, "x-request-id"));
    }

    [Fact]
    public async Task Errors_carry_the_request_id()
    {
        using var notFound = await SendWithRequestIdAsync("lost-1", "/v1/nothing-here");
        using var content = new StringContent("{\"model\":", Encoding.UTF8, "application/json");
        using var invalid = await Gateway.Http.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("lost-1", Header(notFound, "x-request-id"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Matches("^req_[0-9a-f]{24}$", Header(invalid, "x-request-id"));
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }

    private async Task<HttpResponseMessage> SendWithRequestIdAsync(string id, string path = "/v1/models")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("x-request-id", id);
        return await Gateway.Http.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}
