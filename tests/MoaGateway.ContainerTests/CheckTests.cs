using DotNet.Testcontainers.Builders;
using MoaGateway.ContainerTests.Infrastructure;

namespace MoaGateway.ContainerTests;

/// <summary><c>docker run &lt;image&gt; check</c>: the configuration validated as start-up would, before a rollout.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class CheckTests(GatewayImage image)
{
    [Fact]
    public async Task Check_of_the_kubernetes_configmaps_file_prints_the_served_models_and_exits_0()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new GatewayContainerSettings()
            .Mount("/config/moagateway.json", await ConfigMapFileAsync(ct))
            .Set("MOAGATEWAY_CONFIG", "/config/moagateway.json")
            .WithReadOnlyRoot();

        var (exitCode, stdout, stderr) = await GatewayContainer.RunToExitAsync(image, settings, ["check"], ct);

        Assert.True(exitCode == 0, $"check exited {exitCode}:\n{stdout}\n{stderr}");
        Assert.Contains("moa-lite", stdout, StringComparison.Ordinal);
        Assert.Contains("/config/moagateway.json", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_of_a_misspelt_setting_names_the_key_and_exits_1()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new GatewayContainerSettings()
            .Mount("/config/moagateway.json", """{ "MoaGateway": { "KeepAliveSecs": 5 } }""")
            .Set("MOAGATEWAY_CONFIG", "/config/moagateway.json");

        var (exitCode, stdout, stderr) = await GatewayContainer.RunToExitAsync(image, settings, ["check"], ct);

        Assert.Equal(1, exitCode);
        Assert.Contains("MoaGateway:KeepAliveSecs", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    /// <summary>The <c>moagateway.json</c> block of deploy/kubernetes/configmap.yaml, its indentation removed.</summary>
    private static async Task<string> ConfigMapFileAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(CommonDirectoryPath.GetSolutionDirectory().DirectoryPath, "deploy", "kubernetes", "configmap.yaml");
        var lines = await File.ReadAllLinesAsync(path, cancellationToken);
        var start = Array.FindIndex(lines, line => line.Trim() == "moagateway.json: |") + 1;
        Assert.True(start > 0, $"{path} has no moagateway.json block");
        var block = lines.Skip(start).TakeWhile(line => line.Length == 0 || line.StartsWith("    ", StringComparison.Ordinal)).ToList();
        var indent = block.Where(line => line.Length > 0).Min(line => line.Length - line.TrimStart().Length);
        return string.Join('\n', block.Select(line => line.Length == 0 ? line : line[indent..]));
    }
}
