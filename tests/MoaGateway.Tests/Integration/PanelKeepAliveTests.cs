using System.Net;
using System.Net.Http.Json;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.Tests.Integration;

/// <summary>
/// Keep-alive comments beside the panel: none while its events flow, since they keep the connection alive themselves,
/// and still one in any gap longer than <c>KeepAliveSeconds</c>.
/// </summary>
public sealed class PanelKeepAliveTests : GatewayTest
{
    protected override GatewaySettings Configure(FakeUpstream upstream) => new GatewaySettings()
        .Provider("fake", upstream)
        .Model("duo", [["p1", "p2"]], "agg")
        .Set("MoaGateway:KeepAliveSeconds", "1");

    private async Task<SseTranscript> StreamAsync()
    {
        using var response = await Gateway.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new
                {
                    model = "duo",
                    stream = true,
                    messages = new[] { new { role = "user", content = "Hi" } },
                    moa = new { include_proposals = true },
                }),
            },
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseTranscript.ReadAsync(response);
    }

    [Fact]
    public async Task No_keep_alive_comment_is_sent_while_panel_events_flow()
    {
        // Some 3 s of proposer text, a token every 60 ms: without the panel, three keep-alive comments.
        var words = string.Join(' ', Enumerable.Range(1, 50).Select(i => $"w{i}"));
        Upstream.Reply("p1", new FakeReply { Text = words, TokenDelay = TimeSpan.FromMilliseconds(60) });

        var transcript = await StreamAsync();

        Assert.True(transcript.EndedWithDone);
        Assert.Equal(words, PanelEvents.OfChat(transcript).Texts()[(1, 0, null)]);
        // One is allowed for a machine that stalls a whole second.
        Assert.True(transcript.Comments.Count <= 1, string.Join("\n", transcript.Comments));
    }

    [Fact]
    public async Task A_gap_between_panel_events_longer_than_the_keep_alive_interval_gets_a_comment()
    {
        Upstream.Reply("p2", new FakeReply { Delay = TimeSpan.FromMilliseconds(2500) });

        var transcript = await StreamAsync();

        Assert.True(transcript.EndedWithDone);
        var lines = transcript.Lines.ToList();
        var p1Done = lines.FindIndex(line => line.Contains("\"proposal.done\"", StringComparison.Ordinal) && line.Contains("\"model\":\"p1\"", StringComparison.Ordinal));
        var p2First = lines.FindIndex(line => line.Contains("\"model\":\"p2\"", StringComparison.Ordinal));
        Assert.True(p1Done >= 0 && p2First > p1Done, string.Join("\n", lines));
        Assert.Contains(lines[p1Done..p2First], line => line == ": moa: proposer layer 1 of 1");
    }
}
