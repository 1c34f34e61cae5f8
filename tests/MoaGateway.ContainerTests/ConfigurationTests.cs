using System.Text.Json.Nodes;
using DotNet.Testcontainers.Builders;
using MoaGateway.ContainerTests.Infrastructure;
using OpenAI.Chat;

namespace MoaGateway.ContainerTests;

/// <summary>Configuration mounted into the container, as docker run -v and the Kubernetes ConfigMap provide it.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class ConfigurationTests(GatewayImage image)
{
    private const string ExtraModel = """
        { "MoaGateway": { "Models": { "moa-mounted": {
          "Layers": [ { "Agents": [ { "Provider": "simulated", "Model": "a" }, { "Provider": "simulated", "Model": "b" } ] } ],
          "Aggregator": { "Provider": "simulated", "Model": "c" } } } } }
        """;

    [Fact]
    public async Task Mounted_appsettings_and_MOAGATEWAY_CONFIG_configure_a_container_with_a_read_only_root()
    {
        var ct = TestContext.Current.CancellationToken;
        // The repository's appsettings.json (the ConfigMap's copy) with one description changed, to show which file was read.
        var marker = $"mounted-{Guid.NewGuid():N}";
        var appsettings = JsonNode.Parse(await File.ReadAllTextAsync(
            Path.Combine(CommonDirectoryPath.GetSolutionDirectory().DirectoryPath, "appsettings.json"), ct))!;
        appsettings["MoaGateway"]!["Models"]!["moa-lite"]!["Description"] = marker;
        var settings = new GatewayContainerSettings()
            .Mount("/app/appsettings.json", appsettings.ToJsonString())
            .Mount("/config/extra.json", ExtraModel)
            .Set("MOAGATEWAY_CONFIG", "/config/extra.json")
            .WithReadOnlyRoot();
        await using var gateway = await GatewayContainer.StartAsync(image, settings, ct);

        var models = (await gateway.ModelClient().GetModelsAsync(ct)).Value.Select(model => model.Id).ToList();
        var moaLite = JsonNode.Parse(await gateway.Http.GetStringAsync("/v1/models/moa-lite", ct))!;
        var answer = await gateway.ChatClient("moa-mounted").CompleteChatAsync([new UserChatMessage("Hi")], cancellationToken: ct);
        var mounts = await gateway.Container.ExecAsync(["cat", "/proc/mounts"], ct);

        Assert.Contains("moa", models);
        Assert.Contains("moa-mounted", models);
        Assert.Equal(marker, moaLite["moa"]!["description"]!.GetValue<string>());
        Assert.NotEmpty(answer.Value.Content[0].Text);
        Assert.Contains("ro", RootMountOptions(mounts.Stdout));
    }

    /// <summary>The options of the filesystem mounted at / (fields: device, mount point, type, options, ...).</summary>
    private static string[] RootMountOptions(string procMounts) => procMounts.Split('\n')
        .Select(line => line.Split(' '))
        .Single(fields => fields.Length > 3 && fields[1] == "/")[3]
        .Split(',');
}
