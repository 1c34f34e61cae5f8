using System.Diagnostics;
using MoaGateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.Tests.Integration;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task A_layer_of_six_agents_taking_300_ms_each_finishes_far_sooner_than_a_sequential_loop()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        string[] six = ["s1", "s2", "s3", "s4", "s5", "s6"];
        foreach (var agent in six)
        {
            upstream.Reply(agent, new FakeReply { Delay = TimeSpan.FromMilliseconds(300) });
        }

        await using var gateway = await GatewayHost.StartAsync(new GatewaySettings().Provider("fake", upstream).Model("six", [six], "agg"));
        var client = gateway.ChatClient("six");
        await client.CompleteChatAsync([new UserChatMessage("warm-up")]);

        var stopwatch = Stopwatch.StartNew();
        await client.CompleteChatAsync([new UserChatMessage("Hi")]);
        stopwatch.Stop();

        Assert.Equal(6, upstream.MaxConcurrentRequests);
        // Sequential would take 6 x 300 ms = 1.8 s; concurrent takes about 300 ms. The bound is generous for a loaded machine.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(1500), $"took {stopwatch.ElapsedMilliseconds} ms");
    }
}
