using System.Net.Http.Json;
using MoaGateway.ContainerTests.Infrastructure;
using MoaGateway.Tests.Infrastructure;

namespace MoaGateway.ContainerTests;

/// <summary>docker stop during an answer: SIGTERM, the drain, and a clean exit.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class ShutdownTests(GatewayImage image)
{
    [Fact]
    public async Task Sigterm_during_a_streamed_answer_lets_it_finish_and_the_container_exits_0()
    {
        var ct = TestContext.Current.CancellationToken;
        // Slow simulated agents: the aggregator streams for about six seconds, so the stop lands mid-answer.
        var settings = new GatewayContainerSettings()
            .Set("MoaGateway__Providers__together__Simulation__TokensPerSecond", "4")
            .Set("MoaGateway__Providers__together__Simulation__AnswerTokens", "24");
        await using var gateway = await GatewayContainer.StartAsync(image, settings, ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "moa-lite", stream = true, messages = new[] { new { role = "user", content = "Count to ten." } } }),
        };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var lines = new List<string>();
        while (new SseTranscript(lines, null).Content.Length == 0 && await reader.ReadLineAsync(ct) is { } line)
        {
            AddNonEmpty(lines, line);
        }

        var beforeStop = new SseTranscript([.. lines], null);
        // As `docker stop`: SIGTERM now, SIGKILL only after the container's stop timeout (40 s).
        var stopping = gateway.Container.StopAsync(ct);
        Exception? brokenBy = null;
        try
        {
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                AddNonEmpty(lines, line);
            }
        }
        catch (Exception broken) when (broken is IOException or HttpRequestException)
        {
            brokenBy = broken;
        }

        var transcript = new SseTranscript(lines, brokenBy);
        await stopping;
        var exitCode = await gateway.Container.GetExitCodeAsync(ct);
        var (stdout, _) = await gateway.LogsAsync(ct);
        var log = JsonLog.Parse(stdout);

        Assert.NotEmpty(beforeStop.Content);
        Assert.Null(transcript.BrokenBy);
        Assert.True(transcript.EndedWithDone, "the stream ended without [DONE]");
        Assert.True(transcript.Content.Length > beforeStop.Content.Length, "nothing of the answer arrived after the stop");
        Assert.Equal(0, exitCode);
        // The gateway's own order of events: the request was still running when the shutdown began.
        var shutdown = log.Mentioning("Application is shutting down");
        var ofRequest = log.Mentioning("/v1/chat/completions");
        Assert.True(shutdown.Count > 0 && ofRequest.Count > 0 && ofRequest[^1] > shutdown[0],
            $"events of the request at [{string.Join(", ", ofRequest)}], shutdown at [{string.Join(", ", shutdown)}]:\n{stdout}");
    }

    private static void AddNonEmpty(List<string> lines, string line)
    {
        if (line.Length > 0)
        {
            lines.Add(line);
        }
    }
}
