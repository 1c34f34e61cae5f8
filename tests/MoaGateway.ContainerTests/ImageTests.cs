using System.Net;
using System.Text.Json.Nodes;
using DotNet.Testcontainers.Containers;
using MoaGateway.ContainerTests.Infrastructure;

namespace MoaGateway.ContainerTests;

/// <summary>The image as built from the repository's Dockerfile: its size, its user and its HEALTHCHECK.</summary>
[Collection(SharedGatewayImage.Name)]
public sealed class ImageTests(GatewayImage image)
{
    [Fact]
    public async Task Image_adds_less_than_150_MB_to_its_runtime_base()
    {
        var ct = TestContext.Current.CancellationToken;
        var built = await image.InspectAsync(GatewayImage.Tag, ct);
        var runtime = await image.InspectAsync(GatewayImage.RuntimeImage, ct);

        var addedMegabytes = (built.Size - runtime.Size) / 1_000_000;
        Assert.True(addedMegabytes < 150, $"{GatewayImage.Tag} adds {addedMegabytes} MB to {GatewayImage.RuntimeImage} ({runtime.Size / 1_000_000} MB)");
    }

    [Fact]
    public async Task Gateway_process_runs_as_the_non_root_user_the_image_names()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = await GatewayContainer.StartAsync(image, new GatewayContainerSettings(), ct);
        var user = (await image.InspectAsync(GatewayImage.Tag, ct)).Config?.User;

        // PID 1 is the gateway itself (exec-form ENTRYPOINT); its real, effective, saved and filesystem uids.
        var status = await gateway.Container.ExecAsync(["cat", "/proc/1/status"], ct);
        var uids = status.Stdout.Split('\n').Single(line => line.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..];

        Assert.Equal("1654", user);
        Assert.All(uids, uid => Assert.Equal(user, uid));
    }

    [Fact]
    public async Task Healthcheck_turns_healthy_and_healthz_answers_healthy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = await GatewayContainer.StartAsync(image, new GatewayContainerSettings(), ct);

        using var response = await gateway.Http.GetAsync("/healthz", ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!;

        Assert.Equal(TestcontainersHealthStatus.Healthy, gateway.Container.Health);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body["status"]!.GetValue<string>());
    }
}
