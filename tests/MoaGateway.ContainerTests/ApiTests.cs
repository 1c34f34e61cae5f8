using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using MoaGateway.ContainerTests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.ContainerTests;

/// <summary>The container answers as a client sees it, through the official OpenAI SDK.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class ApiTests(GatewayImage image)
{
    [Fact]
    public async Task Models_lists_the_shipped_virtual_models()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = await GatewayContainer.StartAsync(image, new GatewayContainerSettings(), ct);

        var models = (await gateway.ModelClient().GetModelsAsync(ct)).Value.Select(model => model.Id).ToList();

        Assert.Contains("moa", models);
        Assert.Contains("moa-lite", models);
    }

    [Fact]
    public async Task Moa_lite_streams_its_answer_through_the_OpenAI_SDK()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = await GatewayContainer.StartAsync(image, new GatewayContainerSettings(), ct);

        var contentChunks = 0;
        var text = "";
        ChatFinishReason? finishReason = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in gateway.ChatClient("moa-lite").CompleteChatStreamingAsync([new UserChatMessage("Why is the sky blue?")], cancellationToken: ct))
        {
            if (update.ContentUpdate.Count > 0)
            {
                contentChunks++;
                text += string.Concat(update.ContentUpdate.Select(part => part.Text));
            }

            finishReason ??= update.FinishReason;
            usage ??= update.Usage;
        }

        // Several content chunks: the answer arrived as a stream, not as one block at the end.
        Assert.True(contentChunks >= 2, $"{contentChunks} content chunk(s): '{text}'");
        Assert.False(string.IsNullOrWhiteSpace(text));
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.NotNull(usage);
        Assert.True(usage.TotalTokenCount > 0);
        // The gateway's own part of usage, which the SDK keeps as an unknown field: six proposers and the aggregator ran.
        var moa = JsonNode.Parse(ModelReaderWriter.Write(usage).ToString())!["moa"]!;
        Assert.Equal("moa-lite", moa["model"]!.GetValue<string>());
        Assert.Equal(7, moa["upstream_calls"]!.GetValue<int>());
    }
}
