using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Client keys' budgets, counted in the gateway's memory (no shared state configured): each mixture charged its cost
/// when it ends, a key at or over a budget refused before any upstream call, and <c>GET /v1/me</c> saying what is left.
/// </summary>
public sealed class BudgetTests : GatewayTest
{
    private const string DailyKey = "sk-client-daily-0a1b2c";
    private const string MonthlyKey = "sk-client-monthly-3d4e5f";
    private const string RoomyKey = "sk-client-roomy-6a7b8c";

    // At 1000 dollars per million tokens both ways, each call (11 prompt tokens, 3 completion tokens) costs 0.014, and
    // a request of "moa" (one proposer and the aggregator) 0.028.
    private const decimal RequestCost = 2 * (11 + 3) * 1000m / 1_000_000m;

    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("moa", [["a"]], "agg")
        .Set("MoaGateway:Pricing:0:Model", "fake/*")
        .Set("MoaGateway:Pricing:0:InputPerMillion", "1000")
        .Set("MoaGateway:Pricing:0:OutputPerMillion", "1000")
        .Auth("daily", DailyKey).Set("MoaGateway:Auth:Keys:daily:Budget:UsdPerDay", "0.02")
        .Auth("monthly", MonthlyKey).Set("MoaGateway:Auth:Keys:monthly:Budget:UsdPerMonth", "0.02")
        .Auth("roomy", RoomyKey)
        .Set("MoaGateway:Auth:Keys:roomy:Budget:UsdPerDay", "0.05")
        .Set("MoaGateway:Auth:Keys:roomy:Budget:UsdPerMonth", "10");

    [Fact]
    public async Task A_key_over_its_daily_budget_gets_429_insufficient_quota_naming_the_budget_and_its_reset_before_any_upstream_call()
    {
        using var crossing = await ChatAsync(DailyKey);
        Assert.Equal(HttpStatusCode.OK, crossing.StatusCode);
        var callsBefore = Upstream.Requests.Count;

        using var refused = await ChatAsync(DailyKey);

        var error = await ErrorAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("insufficient_quota", error["type"]!.GetValue<string>());
        Assert.Equal("insufficient_quota", error["code"]!.GetValue<string>());
        var tomorrow = DateTime.UtcNow.Date.AddDays(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("daily budget of $0.02", message, StringComparison.Ordinal);
        Assert.Contains($"$0.028 this UTC day", message, StringComparison.Ordinal);
        Assert.Contains($"resets at {tomorrow}", message, StringComparison.Ordinal);
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        Assert.Equal(callsBefore, Upstream.Requests.Count);
    }

    [Fact]
    public async Task A_monthly_budget_resets_at_the_start_of_the_next_utc_month()
    {
        using var crossing = await ChatAsync(MonthlyKey);
        Assert.Equal(HttpStatusCode.OK, crossing.StatusCode);

        using var refused = await ChatAsync(MonthlyKey);

        var now = DateTime.UtcNow;
        var nextMonth = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var message = (await ErrorAsync(refused, HttpStatusCode.TooManyRequests))["message"]!.GetValue<string>();
        Assert.Contains("monthly budget of $0.02", message, StringComparison.Ordinal);
        Assert.Contains($"resets at {nextMonth}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Me_shows_what_the_key_spent_and_has_left_in_each_period()
    {
        using (var first = await ChatAsync(RoomyKey))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var me = await MeAsync(RoomyKey);

        Assert.Equal("moagateway.client_key", me["object"]!.GetValue<string>());
        Assert.Equal(["*"], me["allowed_models"]!.AsArray().Select(model => model!.GetValue<string>()));
        var day = me["spend"]!["day"]!;
        Assert.Equal(RequestCost, day["spent_usd"]!.GetValue<decimal>());
        Assert.Equal(0.05m, day["budget_usd"]!.GetValue<decimal>());
        Assert.Equal(0.05m - RequestCost, day["remaining_usd"]!.GetValue<decimal>());
        Assert.Equal(new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1)), day["resets_at"]!.GetValue<DateTimeOffset>());
        Assert.Equal(10m - RequestCost, me["spend"]!["month"]!["remaining_usd"]!.GetValue<decimal>());
        Assert.DoesNotContain("roomy", me.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_answer_is_charged_before_its_done_reaches_the_client()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "moa", stream = true, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Authorization = new("Bearer", RoomyKey);
        using var response = await Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.True((await SseTranscript.ReadAsync(response)).EndedWithDone);

        var me = await MeAsync(RoomyKey);

        Assert.Equal(RequestCost, me["spend"]!["day"]!["spent_usd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_key_over_budget_may_still_list_models_and_read_me_but_not_pass_through()
    {
        using (var crossing = await ChatAsync(DailyKey))
        {
            Assert.Equal(HttpStatusCode.OK, crossing.StatusCode);
        }

        using var models = await SendAsync(HttpMethod.Get, "/v1/models", DailyKey);
        var me = await MeAsync(DailyKey);
        using var passThrough = await ChatAsync(DailyKey, "fake/solo");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal(0m, me["spend"]!["day"]!["remaining_usd"]!.GetValue<decimal>());
        Assert.Equal("insufficient_quota", (await ErrorAsync(passThrough, HttpStatusCode.TooManyRequests))["code"]!.GetValue<string>());
        Assert.Empty(Upstream.RequestsFor("solo"));
    }

    [Fact]
    public async Task Pass_through_answers_are_not_charged()
    {
        using var passThrough = await ChatAsync(RoomyKey, "fake/solo");
        Assert.Equal(HttpStatusCode.OK, passThrough.StatusCode);

        var me = await MeAsync(RoomyKey);

        Assert.Equal(0m, me["spend"]!["day"]!["spent_usd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Me_answers_404_when_no_client_keys_are_configured()
    {
        await using var open = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", Upstream).Model("moa", [["a"]], "agg"));

        using var response = await open.Http.GetAsync("/v1/me");

        Assert.Equal("no_client_keys", (await ErrorAsync(response, HttpStatusCode.NotFound))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_raised_budget_and_a_changed_price_apply_after_a_reload_and_spend_carries_over()
    {
        var directory = Directory.CreateTempSubdirectory("moagateway-budget-").FullName;
        var file = Path.Combine(directory, "moagateway.json");
        try
        {
            await File.WriteAllTextAsync(file, Settings(budget: "0.02", price: "1000"));
            await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Set("MOAGATEWAY_CONFIG", file));
            using (var crossing = await ChatAsync(gateway, DailyKey))
            {
                Assert.Equal(HttpStatusCode.OK, crossing.StatusCode);
            }

            using (var refused = await ChatAsync(gateway, DailyKey))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            }

            await File.WriteAllTextAsync(file, Settings(budget: "1", price: "2000"));
            await Eventually.True(async () =>
            {
                using var response = await ChatAsync(gateway, DailyKey);
                return response.StatusCode == HttpStatusCode.OK;
            });

            var me = await MeAsync(gateway, DailyKey);
            Assert.Equal(RequestCost + (2 * RequestCost), me["spend"]!["day"]!["spent_usd"]!.GetValue<decimal>());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        string Settings(string budget, string price) => new JsonObject
        {
            ["MoaGateway"] = new JsonObject
            {
                ["Providers"] = new JsonObject { ["fake"] = new JsonObject { ["BaseUrl"] = Upstream.BaseUrl } },
                ["Models"] = new JsonObject { ["moa"] = new JsonObject { ["Layers"] = new JsonArray(new JsonObject { ["Agents"] = new JsonArray("fake/a") }), ["Aggregator"] = "fake/agg" } },
                ["Pricing"] = new JsonArray(new JsonObject { ["Model"] = "fake/*", ["InputPerMillion"] = decimal.Parse(price, CultureInfo.InvariantCulture), ["OutputPerMillion"] = decimal.Parse(price, CultureInfo.InvariantCulture) }),
                ["Auth"] = new JsonObject
                {
                    ["Keys"] = new JsonObject
                    {
                        ["daily"] = new JsonObject
                        {
                            ["Sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(DailyKey))),
                            ["Budget"] = new JsonObject { ["UsdPerDay"] = decimal.Parse(budget, CultureInfo.InvariantCulture) },
                        },
                    },
                },
            },
        }.ToJsonString();
    }

    private Task<HttpResponseMessage> ChatAsync(string key, string model = "moa") => ChatAsync(Gateway, key, model);

    private static async Task<HttpResponseMessage> ChatAsync(GatewayHost gateway, string key, string model = "moa")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        request.Headers.Authorization = new("Bearer", key);
        return await gateway.Http.SendAsync(request);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string key)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", key);
        return await Gateway.Http.SendAsync(request);
    }

    private Task<JsonNode> MeAsync(string key) => MeAsync(Gateway, key);

    private static async Task<JsonNode> MeAsync(GatewayHost gateway, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/me");
        request.Headers.Authorization = new("Bearer", key);
        using var response = await gateway.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["error"]!;
    }
}
