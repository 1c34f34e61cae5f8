using MoaGateway.ContainerTests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.ContainerTests;

/// <summary>What the container writes: JSON lines on stdout, and never a secret it was given.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class LogTests(GatewayImage image)
{
    [Fact]
    public async Task Logs_are_json_lines_on_stdout_without_the_keys_the_container_was_given()
    {
        var ct = TestContext.Current.CancellationToken;
        // A provider key no shipped model uses, so the call below still reaches the simulator, and a client key.
        var providerKey = $"sk-provider-canary-{Guid.NewGuid():N}";
        var clientKey = $"sk-client-canary-{Guid.NewGuid():N}";
        await using var gateway = await GatewayContainer.StartAsync(image, new GatewayContainerSettings().Set("OPENAI_API_KEY", providerKey), ct);

        await gateway.ChatClient("moa-lite", clientKey).CompleteChatAsync([new UserChatMessage("Say hello.")], cancellationToken: ct);
        await gateway.Container.StopAsync(ct);
        var (stdout, stderr) = await gateway.LogsAsync(ct);
        var log = JsonLog.Parse(stdout);

        Assert.True(log.Mentioning("Now listening on").Count > 0, $"no event says where the gateway listens:\n{stdout}");
        Assert.True(log.Mentioning("/v1/chat/completions").Count > 0, $"no event logs the chat request:\n{stdout}");
        foreach (var secret in new[] { providerKey, clientKey })
        {
            Assert.DoesNotContain(secret, stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, stderr, StringComparison.Ordinal);
        }
    }
}
