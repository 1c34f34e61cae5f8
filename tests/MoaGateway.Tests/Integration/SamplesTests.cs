using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>An agent configured with <c>Samples</c> (Self-MoA): one model called several times at once, each call its own reference.</summary>
public sealed class SamplesTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("moagateway-samples-").FullName, "models.json");
        File.WriteAllText(file, """
            {
              "MoaGateway": {
                "Models": {
                  "self": {
                    "AgentDefaults": { "Temperature": 0.7 },
                    "Layers": [ { "Agents": [ { "Model": "fake/strong", "Samples": 3 } ], "MinAgents": 2 } ],
                    "Aggregator": "fake/strong"
                  }
                }
              }
            }
            """);
        return new GatewaySettings().Provider("fake", upstream).Set("MOAGATEWAY_CONFIG", file);
    }

    [Fact]
    public async Task Configured_samples_make_as_many_concurrent_calls_with_distinct_seeds_and_numbered_references()
    {
        var release = new TaskCompletionSource();
        Upstream.ReplyWith(_ => new FakeReply { HoldAfterFirstToken = release.Task });

        using var content = JsonContent.Create(new { model = "self", messages = new[] { new { role = "user", content = "Hi" } } });
        var response = Gateway.Http.PostAsync("/v1/chat/completions", content);
        await Eventually.True(() => Upstream.Requests.Count == 3);
        Assert.Equal(3, Upstream.MaxConcurrentRequests);
        release.SetResult();
        using var answered = await response;
        var body = JsonNode.Parse(await answered.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var samples = Upstream.Requests.Where(request => request.Json.ContainsKey("seed")).ToList();
        Assert.Equal(3, samples.Count);
        Assert.All(samples, sample => Assert.Equal(0.7, sample.Json["temperature"]!.GetValue<double>(), 3));
        var seeds = samples.Select(sample => sample.Json["seed"]!.GetValue<long>()).Order().ToList();
        Assert.Equal(3, seeds.Distinct().Count());

        // The aggregator is the same model, called once more without a seed, and reads the three samples as three references.
        var aggregator = Assert.Single(Upstream.Requests, request => !request.Json.ContainsKey("seed"));
        Assert.EndsWith(
            string.Concat(seeds.Select((seed, i) => $"\n{i + 1}. answer from strong (seed {seed})")),
            aggregator.SystemText,
            StringComparison.Ordinal);
        Assert.Equal(4, body["usage"]!["moa"]!["upstream_calls"]!.GetValue<int>());
        Assert.Equal([0, 1, 2], body["usage"]!["moa"]!["layers"]![0]!["agents"]!.AsArray().Select(entry => entry!["sample"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Models_counts_every_sample_in_the_upstream_calls()
    {
        var card = JsonNode.Parse(await Gateway.Http.GetStringAsync("/v1/models/self"))!["moa"]!;

        Assert.Equal(4, card["upstream_calls"]!.GetValue<int>());
        Assert.Equal(["fake/strong"], card["layers"]![0]!.AsArray().Select(agent => agent!.GetValue<string>()));
        Assert.Equal([3], card["samples"]![0]!.AsArray().Select(samples => samples!.GetValue<int>()));
    }
}
