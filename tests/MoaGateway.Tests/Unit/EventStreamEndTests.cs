using System.Text;
using MoaGateway.Forwarding;

namespace MoaGateway.Tests.Unit;

public sealed class EventStreamEndTests
{
    private const string Chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n";

    [Theory]
    [InlineData(Chunk + "data: [DONE]\n\n")]
    [InlineData(Chunk + "data:[DONE]\n\n")]
    [InlineData(Chunk + "data: [DONE]\r\n\r\n")]
    [InlineData(Chunk + "data: [DONE]\r\r")]
    [InlineData(Chunk + "data: [DONE]\n")]
    [InlineData(Chunk + "data: [DONE]\n\n: a comment after the end\n\n")]
    [InlineData("data: [DONE]\n\n")]
    public void A_stream_whose_last_line_is_the_marker_ended_with_done(string stream) =>
        AssertAtEverySplit(stream, endedWithDone: true);

    [Theory]
    [InlineData("")]
    [InlineData(Chunk)]
    [InlineData(Chunk + "data: [DONE]")]
    [InlineData(Chunk + "data: [DONE] \n\n")]
    [InlineData(Chunk + "data: [DONE]x\n\n")]
    [InlineData(Chunk + "data: [DON")]
    [InlineData("data: [DONE]\n\n" + Chunk)]
    [InlineData(Chunk + "data: [DONE]\n\ndata: {\"choices\":[]}")]
    [InlineData(Chunk + ": data: [DONE]\n\n")]
    [InlineData(Chunk + "event: done\n\n")]
    public void A_stream_that_stops_anywhere_else_did_not(string stream) =>
        AssertAtEverySplit(stream, endedWithDone: false);

    /// <summary>Observed whole, and in two pieces split at every byte, the verdict is the same.</summary>
    private static void AssertAtEverySplit(string stream, bool endedWithDone)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        for (var split = 0; split <= bytes.Length; split++)
        {
            var end = new EventStreamEnd();
            end.Observe(bytes.AsSpan(0, split));
            end.Observe(bytes.AsSpan(split));
            Assert.True(endedWithDone == end.EndedWithDone, $"split at {split}");
        }
    }
}
