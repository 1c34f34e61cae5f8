using System.Net.Http.Json;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>Stopping the host (what SIGTERM does) refuses new work, lets streams finish, and ends stragglers with an error.</summary>
public sealed class ShutdownTests
{
    private static HttpRequestMessage StreamRequest() => new(HttpMethod.Post, "/v1/chat/completions")
    {
        Content = JsonContent.Create(new { model = "m", stream = true, messages = new[] { new { role = "user", content = "Hi" } } }),
    };

    [Fact]
    public async Task In_flight_streams_finish_while_new_connections_are_refused()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var release = new TaskCompletionSource();
        upstream.Reply("agg", new FakeReply { Text = "all of it", HoldAfterFirstToken = release.Task });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", upstream).Model("m", [["p1"]], "agg"));

        using var response = await gateway.Http.SendAsync(StreamRequest(), HttpCompletionOption.ResponseHeadersRead);
        var reading = SseTranscript.ReadAsync(response);
        await Eventually.True(() => upstream.RequestsFor("agg").Count == 1);

        var stopping = gateway.StopAsync();
        using var newcomer = new HttpClient { BaseAddress = gateway.BaseAddress };
        await Eventually.True(async () =>
        {
            try
            {
                using var _ = await newcomer.GetAsync("/healthz");
                return false;
            }
            catch (HttpRequestException)
            {
                return true;
            }
        });
        Assert.False(stopping.IsCompleted, "the host stopped before its in-flight stream finished");

        release.SetResult();
        var transcript = await reading;
        await stopping;

        Assert.True(transcript.EndedWithDone);
        Assert.Equal("all of it", transcript.Content);
    }

    [Fact]
    public async Task Streams_still_running_when_the_drain_ends_get_an_error_event_and_a_broken_connection()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var never = new TaskCompletionSource();
        upstream.Reply("agg", new FakeReply { Text = "never finished", HoldAfterFirstToken = never.Task });
        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings()
            .Provider("fake", upstream)
            .Model("m", [["p1"]], "agg")
            .Set("MoaGateway:ShutdownDrainSeconds", "0.3"));

        using var response = await gateway.Http.SendAsync(StreamRequest(), HttpCompletionOption.ResponseHeadersRead);
        var reading = SseTranscript.ReadAsync(response);
        await Eventually.True(() => upstream.RequestsFor("agg").Count == 1);

        await gateway.StopAsync();
        var transcript = await reading;

        Assert.False(transcript.EndedWithDone);
        Assert.NotNull(transcript.BrokenBy);
        Assert.Equal("never", transcript.Content);
        var error = transcript.JsonEvents[^1]["error"]!;
        Assert.Equal("server_shutting_down", error["code"]!.GetValue<string>());
        await Eventually.True(() => upstream.AbortedModels.Contains("agg"));
    }

}
