using System.Diagnostics;
using System.Net.Http.Json;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>A client that goes away cancels every upstream call of its request, in whichever stage it is.</summary>
public sealed class CancellationTests
{
    public static TheoryData<string, bool> Stages => new()
    {
        { "layer 1", true }, { "layer 1", false },
        { "layer 2", true }, { "layer 2", false },
        { "aggregator", true }, { "aggregator", false },
    };

    [Theory]
    [MemberData(nameof(Stages))]
    public async Task Client_disconnect_cancels_every_in_flight_upstream_call(string stage, bool stream)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var never = new TaskCompletionSource();
        string[] hung = stage switch
        {
            "layer 1" => ["a1", "a2", "a3"],
            "layer 2" => ["b1", "b2"],
            _ => ["agg"],
        };
        foreach (var model in hung)
        {
            upstream.Reply(model, stage == "aggregator"
                ? new FakeReply { Text = "first rest", HoldAfterFirstToken = never.Task }
                : new FakeReply { Delay = Timeout.InfiniteTimeSpan });
        }

        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("m", [["a1", "a2", "a3"], ["b1", "b2"]], "agg"));
        // No draining of an abandoned response (SocketsHttpHandler would otherwise read on for up to 2 s): the client is gone.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = gateway.BaseAddress };
        using var cancel = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "m", stream, messages = new[] { new { role = "user", content = "Hi" } } }),
        };
        var sending = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await Eventually.True(() => hung.All(model => upstream.RequestsFor(model).Count == 1));
        if (stage == "aggregator")
        {
            // Let the first token reach the gateway, so the cancellation lands mid-stream.
            await Task.Delay(100);
        }

        var cancelledAt = Stopwatch.GetTimestamp();
        await cancel.CancelAsync();
        try
        {
            (await sending).Dispose();
        }
        catch (OperationCanceledException)
        {
        }

        await Eventually.True(() => hung.All(model => upstream.AbortedModels.Contains(model)));
        var slowest = upstream.Aborts.Where(a => hung.Contains(a.Model)).Max(a => Stopwatch.GetElapsedTime(cancelledAt, a.Ticks));
        // Typically a few milliseconds; the bound is generous for a loaded machine.
        Assert.True(slowest < TimeSpan.FromSeconds(1), $"the last upstream call noticed after {slowest.TotalMilliseconds:0} ms");
        if (stage != "aggregator")
        {
            Assert.DoesNotContain(upstream.Requests, r => r.Model == "agg");
        }
    }
}
